"""The CLI and the configuration layers, as the contract names them, in this process:
the commands through click's runner, every value checked at start-up.

e2e/test_cli_and_config.py runs ``flask`` and gunicorn as processes.
"""

from __future__ import annotations

import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskCliRunner

from practice_app import create_app, documents
from practice_app.config import Defaults
from practice_app.config_checks import RULES, ConfigError, check_config
from practice_app.extensions import db
from practice_app.models import Problem


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
    (
        "FLASK_CACHE_TYPE",
        "tests.support.full_disk.NoSuchCache",
        "FLASK_CACHE_TYPE must name a Flask",
    ),
    ("FLASK_CACHE_TYPE", "tests.support.full_disk", "FLASK_CACHE_TYPE must name a Flask-Caching"),
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
        ("CACHE_TYPE", "tests.support.full_disk.FullDiskCache"),
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
