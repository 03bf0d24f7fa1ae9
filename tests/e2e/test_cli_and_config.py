"""The CLI and the configuration, run as processes: ``flask`` on a new database, and gunicorn
starting with a generated secret or refusing a value it cannot use.

unit/test_cli_and_config.py has the commands through click's runner and the layers in
this process.
"""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import stat
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from devservers.processes import BIN, ROOT, free_port, run_flask
from practice_app import create_app, services
from practice_app.extensions import db
from practice_app.models import ApiToken
from tests.support import backends
from tests.support.servers import LiveServer, start_server, stop_server


@pytest.fixture
def cli_env(tmp_path: Path) -> Iterator[dict[str, str]]:
    """A new database migrated by the CLI: SQLite, or an empty one on PostgreSQL."""
    env = {
        **os.environ,
        "PRACTICE_APP_INSTANCE": str(tmp_path / "instance"),
        "FLASK_SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'cli.sqlite3'}",
    }
    with backends.empty_database() as url:
        if url is not None:
            env["FLASK_SQLALCHEMY_DATABASE_URI"] = url
        assert run_flask(env, "db", "upgrade").returncode == 0
        yield env


def test_users_create_reads_the_first_line_of_stdin(
    cli_env: dict[str, str], tmp_path: Path
) -> None:
    created = run_flask(
        cli_env, "users", "create", "root", "--admin", stdin="first-line-pw\nsecond\n"
    )
    assert created.returncode == 0, created.stderr
    again = run_flask(cli_env, "users", "create", "ROOT", stdin="whatever-pw\n")
    assert again.returncode != 0
    assert "exists" in again.stderr
    short = run_flask(cli_env, "users", "create", "shorty", stdin="short\n")
    assert short.returncode != 0
    app = create_app({"SQLALCHEMY_DATABASE_URI": cli_env["FLASK_SQLALCHEMY_DATABASE_URI"]})
    with app.app_context():
        assert services.authenticate("root", "first-line-pw") is not None
        user = services.find_user("root")
        assert user is not None and user.is_admin
        assert services.find_user("shorty") is None
        db.session.remove()  # its connection back to the pool, which dispose closes
        db.engine.dispose()


def test_tokens_create_prints_the_token_alone_on_the_last_line(cli_env: dict[str, str]) -> None:
    assert run_flask(cli_env, "users", "create", "tok", stdin="token-user-pw\n").returncode == 0
    result = run_flask(cli_env, "tokens", "create", "tok")
    assert result.returncode == 0
    token = result.stdout.strip().splitlines()[-1]
    assert token.startswith("pp_") and " " not in token and len(token) > 30
    app = create_app({"SQLALCHEMY_DATABASE_URI": cli_env["FLASK_SQLALCHEMY_DATABASE_URI"]})
    with app.app_context():
        row = db.session.query(ApiToken).one()
        assert row.token_hash != token and token not in row.token_hash
        user = services.user_for_token(token)
        assert user is not None and user.name == "tok"
        db.session.remove()  # its connection back to the pool, which dispose closes
        db.engine.dispose()
    assert run_flask(cli_env, "tokens", "create", "nobody").returncode != 0


@pytest.mark.sqlite_only(reason="SQLite's tables and journal mode")
def test_migrations_make_the_whole_schema_in_wal_mode(cli_env: dict[str, str]) -> None:
    path = cli_env["FLASK_SQLALCHEMY_DATABASE_URI"].removeprefix("sqlite:///")
    with sqlite3.connect(path) as conn:
        tables = {
            row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")
        }
        mode = conn.execute("PRAGMA journal_mode").fetchone()[0]
    assert {"users", "api_tokens", "problems", "problem_tags", "alembic_version"} <= tables
    assert mode == "wal"


def test_the_models_and_the_migrations_agree(cli_env: dict[str, str]) -> None:
    check = run_flask(cli_env, "db", "check")
    assert check.returncode == 0, check.stdout + check.stderr  # models and migrations agree


def test_every_gunicorn_worker_shares_one_generated_secret(tmp_path: Path) -> None:
    server: LiveServer = start_server(tmp_path, workers=3, extra_env={"FLASK_SECRET_KEY": ""})
    try:
        key_files = list(server.instance.glob("secret_key"))
        assert len(key_files) == 1
        assert stat.S_IMODE(key_files[0].stat().st_mode) == 0o600
        leftovers = [p for p in server.instance.iterdir() if p.name.startswith(".secret_key")]
        assert leftovers == []
    finally:
        stop_server(server)


def test_gunicorn_stops_at_start_up_naming_the_variable(tmp_path: Path) -> None:
    instance = tmp_path / "instance"
    database = tmp_path / "e2e.sqlite3"
    shutil.copy(backends.migrated_sqlite(), database)
    env = {
        **os.environ,
        "PRACTICE_APP_INSTANCE": str(instance),
        "FLASK_SQLALCHEMY_DATABASE_URI": f"sqlite:///{database}",
        "FLASK_CACHE_SHARED_MAX_AGE": "abc",
    }
    process = subprocess.Popen(
        [
            str(BIN / "gunicorn"),
            "-c",
            "gunicorn.conf.py",
            "-w",
            "2",
            "-b",
            f"127.0.0.1:{free_port()}",
            "wsgi:app",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        output, _ = process.communicate(timeout=60)
    finally:
        if process.poll() is None:  # still serving: the test fails below, after cleaning up
            process.send_signal(signal.SIGTERM)
            output, _ = process.communicate(timeout=15)
    assert process.returncode != 0, output
    assert (
        "FLASK_CACHE_SHARED_MAX_AGE must be a whole number of seconds, 0 or more (got 'abc')"
        in output
    ), output
