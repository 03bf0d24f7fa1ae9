"""The CLI and the configuration layers, as the contract names them."""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import stat
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskCliRunner

from practice_app import create_app, documents, services
from practice_app.config import RULES, ConfigError, Defaults, check_config
from practice_app.extensions import db
from practice_app.models import ApiToken, Problem
from tests import backends
from tests.conftest import LiveServer, start_server, stop_server
from tests.processes import BIN, ROOT, free_port, run_flask


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


# -- every value checked at start-up ----------------------------------------------------


def _configured(tmp_path: Path, **config: Any) -> Flask:
    """An app on this test's own instance folder and SQLite file, as create_app builds one."""
    database = tmp_path / "config.sqlite3"
    return create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{database}", **config})


@pytest.fixture
def instance(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "inst"
    monkeypatch.setenv("PRACTICE_APP_INSTANCE", str(folder))
    return folder


# (environment variable, its value, the start of what start-up says)
UNUSABLE = [
    (
        "FLASK_CACHE_SHARED_MAX_AGE",
        "-5",
        "FLASK_CACHE_SHARED_MAX_AGE must be a whole number of seconds, 0 or more (got -5)",
    ),
    (
        "FLASK_CACHE_SHARED_MAX_AGE",
        "abc",
        "FLASK_CACHE_SHARED_MAX_AGE must be a whole number of seconds, 0 or more (got 'abc')",
    ),
    (
        "FLASK_CACHE_SHARED_MAX_AGE",
        "1.5",
        "FLASK_CACHE_SHARED_MAX_AGE must be a whole number of seconds, 0 or more (got 1.5)",
    ),
    ("FLASK_CACHE_TYPE", "NoSuchCache", "FLASK_CACHE_TYPE must name a Flask-Caching backend"),
    ("FLASK_CACHE_TYPE", "tests.full_disk.NoSuchCache", "FLASK_CACHE_TYPE must name a Flask"),
    ("FLASK_CACHE_TYPE", "tests.full_disk", "FLASK_CACHE_TYPE must name a Flask-Caching"),
    (
        "FLASK_API_WRITE_RATE_LIMIT",
        "ten per fortnight",
        "FLASK_API_WRITE_RATE_LIMIT must be rate limits in Flask-Limiter's notation",
    ),
    ("FLASK_SIGN_IN_RATE_LIMIT", "5 per fortnight", "FLASK_SIGN_IN_RATE_LIMIT must be rate"),
    ("FLASK_SIGN_IN_RATE_LIMIT", "", "FLASK_SIGN_IN_RATE_LIMIT must be rate limits"),
    ("FLASK_RATELIMIT_ENABLED", "maybe", "FLASK_RATELIMIT_ENABLED must be true or false (got"),
    ("FLASK_SESSION_COOKIE_SECURE", "1", "FLASK_SESSION_COOKIE_SECURE must be true or false"),
    ("FLASK_RATELIMIT_STORAGE_URI", "nosuch://host", "FLASK_RATELIMIT_STORAGE_URI must be a"),
    ("FLASK_RATELIMIT_STORAGE_URI", "async+memory://", "FLASK_RATELIMIT_STORAGE_URI must be a"),
    (
        "FLASK_CACHE_REDIS_TIMEOUT_SECONDS",
        "0",
        "FLASK_CACHE_REDIS_TIMEOUT_SECONDS must be a number of seconds, more than 0 (got 0)",
    ),
    ("FLASK_CACHE_RETRY_SECONDS", "-1", "FLASK_CACHE_RETRY_SECONDS must be a number of seconds"),
    ("FLASK_IDEMPOTENCY_KEY_SECONDS", "0", "FLASK_IDEMPOTENCY_KEY_SECONDS must be a whole"),
    ("FLASK_PROXY_FIX_HOPS", "-1", "FLASK_PROXY_FIX_HOPS must be a whole number"),
    ("FLASK_CACHE_REVALIDATE", '{"api.stats": 0}', "FLASK_CACHE_REVALIDATE must map endpoints"),
    ("FLASK_SESSION_COOKIE_SAMESITE", "Sometimes", "FLASK_SESSION_COOKIE_SAMESITE must be"),
    ("FLASK_CORS_ORIGINS", "example.com", "FLASK_CORS_ORIGINS must be origins"),
    ("FLASK_CORS_MAX_AGE", "ten", "FLASK_CORS_MAX_AGE must be a whole number of seconds"),
    ("FLASK_SQLALCHEMY_DATABASE_URI", "not a url", "FLASK_SQLALCHEMY_DATABASE_URI must be a"),
    ("FLASK_SQLALCHEMY_ENGINE_OPTIONS", "[1]", "FLASK_SQLALCHEMY_ENGINE_OPTIONS must be a JSON"),
    ("FLASK_API_VERSION", "1.0", "FLASK_API_VERSION must be text (got 1.0"),
]


@pytest.mark.parametrize(("variable", "value", "message"), UNUSABLE)
def test_a_value_that_cannot_be_used_stops_start_up_naming_the_variable(
    tmp_path: Path,
    instance: Path,
    monkeypatch: pytest.MonkeyPatch,
    variable: str,
    value: str,
    message: str,
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigError) as refused:
        create_app()
    assert str(refused.value).startswith(message), str(refused.value)
    assert isinstance(refused.value, ValueError)
    assert not instance.exists()  # stopped before it made anything


@pytest.mark.parametrize("variable", ["FLASK_SECRET_KEY", "FLASK_REVALIDATE_SECRET"])
def test_a_secret_that_cannot_be_used_is_named_but_never_shown(
    tmp_path: Path, instance: Path, monkeypatch: pytest.MonkeyPatch, variable: str
) -> None:
    monkeypatch.setenv(variable, "[31415926, 5358979]")  # JSON: a list, not text
    with pytest.raises(ConfigError) as refused:
        _configured(tmp_path)
    assert str(refused.value) == f"{variable} must be text (got a list)"


def test_a_value_from_the_test_mapping_is_named_by_its_key(
    tmp_path: Path, instance: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The mapping wins over the environment: the value that is wrong is the mapping's.
    monkeypatch.setenv("FLASK_CACHE_SHARED_MAX_AGE", "30")
    with pytest.raises(ConfigError) as refused:
        _configured(tmp_path, CACHE_SHARED_MAX_AGE=-5)
    assert str(refused.value) == (
        "CACHE_SHARED_MAX_AGE must be a whole number of seconds, 0 or more (got -5)"
    )
    with pytest.raises(ConfigError, match=r"^RATELIMIT_ENABLED must be true or false"):
        _configured(tmp_path, RATELIMIT_ENABLED="maybe")


def test_a_value_from_the_instance_config_is_named_by_its_key(
    tmp_path: Path, instance: Path
) -> None:
    instance.mkdir()
    (instance / "config.py").write_text("CACHE_TYPE = 'MemcacheD'\n")
    with pytest.raises(ConfigError, match=r"^CACHE_TYPE must name a Flask-Caching backend"):
        _configured(tmp_path)


def test_every_default_has_a_rule_and_passes_it() -> None:
    defaults = {key: getattr(Defaults, key) for key in dir(Defaults) if key.isupper()}
    assert set(defaults) <= set(RULES), set(defaults) - set(RULES)
    check_config(defaults)


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("CACHE_TYPE", "FileSystemCache"),
        ("CACHE_TYPE", "RedisCache"),
        ("CACHE_TYPE", "NullCache"),
        ("CACHE_TYPE", "flask_caching.backends.SimpleCache"),
        ("CACHE_TYPE", "flask_caching.backends.rediscache.RedisCache"),
        ("CACHE_TYPE", "tests.full_disk.FullDiskCache"),
        ("RATELIMIT_STORAGE_URI", "memory://"),
        ("RATELIMIT_STORAGE_URI", "redis://127.0.0.1:6379/0"),
        ("RATELIMIT_STORAGE_URI", "sqlite:////tmp/rate-limits.sqlite3"),  # the app's own
        ("SIGN_IN_RATE_LIMIT", "5/minute;100 per day"),
        ("RATELIMIT_ENABLED", False),
        ("SESSION_COOKIE_SAMESITE", "strict"),
        ("SESSION_COOKIE_SAMESITE", None),
        ("CACHE_SHARED_MAX_AGE", 0),
        ("CACHE_RETRY_SECONDS", 0),
        ("CORS_ORIGINS", "*"),
        ("CORS_ORIGINS", ["https://app.example.com", "http://localhost:3000"]),
        ("MAX_CONTENT_LENGTH", None),
        ("SECRET_KEY", b"\x00raw bytes"),
    ],
)
def test_usable_values_pass(key: str, value: Any) -> None:
    defaults = {name: getattr(Defaults, name) for name in dir(Defaults) if name.isupper()}
    check_config({**defaults, key: value})


def test_a_shared_max_age_of_30_still_works(
    make_app: Callable[..., Flask], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FLASK_CACHE_SHARED_MAX_AGE", "30")
    client = make_app().test_client()
    response = client.get("/api/clock/static")
    assert response.status_code == 200
    expected = "public, s-maxage=30, stale-while-revalidate=30"
    assert response.headers["Cache-Control"] == expected


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
