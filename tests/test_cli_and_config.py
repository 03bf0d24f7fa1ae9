"""The CLI and the configuration layers, as the contract names them."""

from __future__ import annotations

import os
import sqlite3
import stat
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskCliRunner

from practice_app import create_app, documents, services
from practice_app.extensions import db
from practice_app.models import ApiToken, Problem
from tests import backends
from tests.conftest import LiveServer, start_server, stop_server
from tests.processes import run_flask


def test_seed_loads_realistic_problems_once(app: Flask, runner: FlaskCliRunner) -> None:
    first = runner.invoke(args=["seed"])
    assert first.exit_code == 0, first.output
    with app.app_context():
        problems = documents.list_documents()
        assert len(problems) >= 30
        assert {p["difficulty"] for p in problems} == {"easy", "medium", "hard"}
        assert all(
            "### Example" in p["statement"] and "Constraints" in p["statement"] for p in problems
        )
        assert all(p["tags"] for p in problems)
    again = runner.invoke(args=["seed"])
    assert again.exit_code == 0
    with app.app_context():
        assert db.session.query(Problem).count() == len(problems)


def test_seed_if_empty_leaves_a_catalogue_alone(
    app: Flask,
    runner: FlaskCliRunner,
    make_user: Callable[..., int],
    make_problem: Callable[..., int],
) -> None:
    make_user("alice")
    make_problem(name="Mine")
    assert runner.invoke(args=["seed", "--if-empty"]).exit_code == 0
    with app.app_context():
        assert db.session.query(Problem).count() == 1


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


def test_secret_key_is_generated_once_private_and_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PRACTICE_APP_INSTANCE", str(tmp_path / "inst"))
    monkeypatch.delenv("FLASK_SECRET_KEY", raising=False)
    first = create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://"})
    key_file = tmp_path / "inst" / "secret_key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert first.config["SECRET_KEY"] == key_file.read_text().strip()
    assert len(first.config["SECRET_KEY"]) >= 32
    second = create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://"})
    assert second.config["SECRET_KEY"] == first.config["SECRET_KEY"]


def test_config_layers_later_wins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    instance = tmp_path / "inst"
    instance.mkdir()
    (instance / "config.py").write_text(
        "SECRET_KEY = 'from-instance'\nCACHE_KEY_PREFIX = 'instance:'\nAPI_TITLE = 'Instance'\n"
    )
    monkeypatch.setenv("PRACTICE_APP_INSTANCE", str(instance))
    monkeypatch.setenv("FLASK_CACHE_KEY_PREFIX", "env:")
    monkeypatch.setenv("FLASK_SQLALCHEMY_DATABASE_URI", f"sqlite:///{tmp_path / 'env.sqlite3'}")
    app = create_app({"API_TITLE": "Test"})
    assert app.instance_path == str(instance)
    assert app.config["SECRET_KEY"] == "from-instance"  # instance config over defaults
    assert app.config["CACHE_KEY_PREFIX"] == "env:"  # FLASK_* over the instance config
    assert app.config["API_TITLE"] == "Test"  # the test mapping over everything
    assert app.config["SQLALCHEMY_DATABASE_URI"].endswith("env.sqlite3")
    assert app.config["CACHE_DIR"] == str(instance / "cache")
    assert not (instance / "secret_key").exists()


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
