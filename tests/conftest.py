"""Fixtures for every test: a fresh app, database and cache per test; factories that return
ids; a gunicorn server for a module (``live_server``); and the hooks that pick the backend.

The tests are a tree: ``unit/`` (the test client, in this process), ``e2e/`` (gunicorn,
the ``flask`` CLI and other servers as processes), ``browser/`` (Chromium against
gunicorn); their own fixtures are in each directory's ``conftest.py``, and the helpers
they share in ``support/``. Every app and gunicorn these build runs on the backend
``PRACTICE_TEST_BACKEND`` selects: SQLite and the file cache (the default), or
PostgreSQL + Redis (``postgres-redis``); see support/backends.py.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy import event
from sqlalchemy.pool import Pool

from practice_app import create_app, services
from practice_app.extensions import db
from practice_app.models import User
from tests.support import backends
from tests.support.auth import PASSWORD
from tests.support.servers import LiveServer, serving


def pytest_configure(config: pytest.Config) -> None:
    backends.selected()  # a misspelt PRACTICE_TEST_BACKEND stops the run at once


def pytest_report_header(config: pytest.Config) -> str:
    return f"{backends.VARIABLE}={backends.selected()}"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Require a reason on the backend markers; on PostgreSQL + Redis, deselect what they mark."""
    kept, dropped = [], []
    for item in items:
        marks = [
            mark
            for name in (backends.SQLITE_ONLY, backends.OWN_BACKEND)
            for mark in item.iter_markers(name)
        ]
        for mark in marks:
            if not mark.kwargs.get("reason"):
                raise pytest.UsageError(f"{item.nodeid}: @pytest.mark.{mark.name} needs a reason=")
        (dropped if marks and backends.on_postgres_redis() else kept).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


def pytest_sessionfinish(session: pytest.Session) -> None:
    backends.stop()  # the session's PostgreSQL and Redis, if it started them


@pytest.fixture(scope="session")
def migrated_db() -> Path:
    """A SQLite database made by the migrations once, copied for each test."""
    return backends.migrated_sqlite()


@pytest.fixture
def make_app(
    tmp_path: Path, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Callable[..., Flask]]:
    """Build apps on this test's own instance folder, database and cache.

    The apps of one test share them (as the workers of one server do): a copy of
    the migrated SQLite file and a cache directory, or on PostgreSQL + Redis a
    database made from the migrated template and a key prefix of their own.
    """
    instance = tmp_path / "instance"
    monkeypatch.setenv("PRACTICE_APP_INSTANCE", str(instance))
    isolated = backends.isolated()
    if isolated is None:
        database = tmp_path / "test.sqlite3"
        shutil.copy(request.getfixturevalue("migrated_db"), database)
        backend: dict[str, Any] = {
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{database}",
            "CACHE_DIR": str(tmp_path / "cache"),
        }
    else:
        backend = isolated.settings()

    # Every connection opened to this test's PostgreSQL database, closed when it ends:
    # the hit path keeps one per thread, from a pool of its own (caching/versions.py),
    # and psycopg warns of one left to the garbage collector. Invalidating the pool's
    # entry closes it and tells SQLAlchemy, which then leaves it alone when it finalizes.
    opened: list[Any] = []

    def record(connection: Any, entry: Any) -> None:
        if isolated is not None and connection.info.dbname == isolated.database:
            opened.append(entry)

    event.listen(Pool, "connect", record)
    built: list[Flask] = []

    def build(**config: Any) -> Flask:
        settings = {
            "TESTING": True,
            # Many sign-ins per test module; unit/test_web_rate_limit.py turns it on.
            "RATELIMIT_ENABLED": False,
            **backend,
            **config,
        }
        made = create_app(settings)
        made.test_client_class = ServerLikeClient
        built.append(made)
        return made

    yield build
    event.remove(Pool, "connect", record)
    for app in built:
        with app.app_context():
            db.engine.dispose()
    for entry in opened:
        entry.invalidate()
    if isolated is not None:
        isolated.drop()


class ServerLikeClient(FlaskClient):
    """Flask's test client, reading and closing each response at once, as a WSGI server does.

    What runs when a response is closed (a MISS is stored, and its render
    lock released, after it is sent) has then run when the call returns.
    """

    def open(self, *args: Any, buffered: bool = True, **kwargs: Any) -> Any:
        return super().open(*args, buffered=buffered, **kwargs)


@pytest.fixture
def app(make_app: Callable[..., Flask]) -> Iterator[Flask]:
    app = make_app()
    yield app
    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app: Flask) -> FlaskCliRunner:
    return app.test_cli_runner()


@pytest.fixture
def make_user(app: Flask) -> Callable[..., int]:
    """Create a user; return its id."""

    def make(name: str = "alice", *, admin: bool = False, password: str = PASSWORD) -> int:
        with app.app_context():
            return services.create_user(name, password, admin=admin).id

    return make


@pytest.fixture
def make_token(app: Flask) -> Callable[[str], str]:
    """Create an API token for the named user; return the token."""

    def make(name: str) -> str:
        with app.app_context():
            user = services.find_user(name)
            assert user is not None
            return services.create_token(user, "test")[1]

    return make


@pytest.fixture
def make_problem(app: Flask) -> Callable[..., int]:
    """Create a problem by the named author; return its id."""

    def make(author: str = "alice", **fields: Any) -> int:
        fields.setdefault("name", f"Problem {time.monotonic_ns()}")
        with app.app_context():
            user = db.session.get(User, services.find_user(author).id)  # type: ignore[union-attr]
            return services.create_problem(user, services.load_problem_fields(fields)).id

    return make


# -- end-to-end and browser: gunicorn on a free port (support/servers.py) -------------


@pytest.fixture(scope="module")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """gunicorn -w 3 on a free port, for one test module."""
    with serving(tmp_path_factory.mktemp("live")) as server:
        yield server
