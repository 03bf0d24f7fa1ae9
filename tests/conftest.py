"""Fixtures: a fresh app, database and cache per test; factories that return ids;
and a gunicorn server for the end-to-end tests.

Every app and gunicorn these build runs on the backend ``PRACTICE_TEST_BACKEND``
selects: SQLite and the file cache (the default), or PostgreSQL + Redis
(``postgres-redis``); see tests/backends.py.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
import requests
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy import event
from sqlalchemy.pool import Pool

from practice_app import create_app, services
from practice_app.extensions import db
from practice_app.models import User
from tests import backends
from tests.pg import Postgres, postgres_cluster
from tests.processes import BIN, ROOT, free_port, run_flask

PASSWORD = "correct-horse-battery"


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
            # Many sign-ins per test module; tests/test_web_rate_limit.py turns it on.
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


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


# -- end-to-end: gunicorn on a free port ---------------------------------------------


@dataclass
class LiveServer:
    """A gunicorn serving ``wsgi:app`` on its own instance folder."""

    base_url: str
    instance: Path
    env: dict[str, str]
    process: subprocess.Popen[bytes]
    log_path: Path
    # Drops the server's own PostgreSQL database, if it has one (tests/backends.py).
    cleanup: Callable[[], None] | None = None

    def url(self, path: str) -> str:
        return self.base_url + path

    def flask(self, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        return run_flask(self.env, *args, stdin=stdin)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def user_token(self, name: str, password: str = PASSWORD) -> str:
        """Create user ``name`` with the CLI and return a new API token of theirs.

        ``flask users create`` and ``flask tokens create``, run by click's runner in
        this process on an app configured from the server's environment alone, as
        ``flask`` would be: starting ``flask`` twice costs two seconds of CPU, for
        every token of every end-to-end test (tests/test_cli_and_config.py starts it).
        """
        with mock.patch.dict(os.environ, self.env, clear=True):
            app = create_app()
        try:
            runner = app.test_cli_runner()
            made = runner.invoke(args=["users", "create", name], input=password + "\n")
            assert made.exit_code == 0, made.output
            issued = runner.invoke(args=["tokens", "create", name])
            assert issued.exit_code == 0, issued.output
            return issued.stdout.strip().splitlines()[-1]
        finally:
            with app.app_context():
                db.engine.dispose()


def start_server(
    folder: Path, *, workers: int = 3, extra_env: dict[str, str] | None = None
) -> LiveServer:
    """Serve a fresh instance folder and database with gunicorn; wait for /healthz.

    The database is a copy of the migrated SQLite template, or on PostgreSQL +
    Redis a database made from the migrated template and a key prefix of its
    own; ``extra_env`` naming a database of its own has it migrated here, and
    naming a cache backend of its own keeps the session's Redis out.
    """
    instance = folder / "instance"
    instance.mkdir(parents=True)
    extra_env = extra_env or {}
    isolated = backends.isolated()
    backend = {"FLASK_SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder / 'e2e.sqlite3'}"}
    if isolated is not None:
        backend = isolated.env()
        if {"FLASK_CACHE_TYPE", "FLASK_CACHE_REDIS_URL"} & extra_env.keys():
            backend = {k: v for k, v in backend.items() if not k.startswith("FLASK_CACHE_")}
    env = {
        **os.environ,
        "PRACTICE_APP_INSTANCE": str(instance),
        **backend,
        # The tests write far faster than a client; the limit has tests of its own.
        "FLASK_API_WRITE_RATE_LIMIT": "100000 per minute",
        **extra_env,
    }
    if "FLASK_SQLALCHEMY_DATABASE_URI" in extra_env:
        run_flask(env, "db", "upgrade", check=True)
    elif isolated is None:  # a copy of the migrated file, as make_app's (its mode is 0600 too)
        shutil.copy(backends.migrated_sqlite(), folder / "e2e.sqlite3")
    port = free_port()
    log_path = folder / "gunicorn.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [
                str(BIN / "gunicorn"),
                "-c",
                "gunicorn.conf.py",
                "-w",
                str(workers),
                "-b",
                f"127.0.0.1:{port}",
                "wsgi:app",
            ],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    cleanup = isolated.drop if isolated is not None else None
    server = LiveServer(f"http://127.0.0.1:{port}", instance, env, process, log_path, cleanup)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn exited:\n{server.log()}")
        try:
            if requests.get(server.url("/healthz"), timeout=5).status_code == 200:
                return server
        except requests.RequestException:
            pass
        time.sleep(0.2)
    stop_server(server)
    raise RuntimeError(f"gunicorn did not answer /healthz:\n{server.log()}")


def stop_server(server: LiveServer) -> None:
    server.process.send_signal(signal.SIGTERM)
    try:
        server.process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait()
    if server.cleanup is not None:
        server.cleanup()


@pytest.fixture(scope="module")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """gunicorn -w 3 on a free port, for one test module."""
    server = start_server(tmp_path_factory.mktemp("live"))
    yield server
    stop_server(server)


@pytest.fixture(scope="module")
def postgres() -> Iterator[Postgres]:
    """A PostgreSQL cluster of its own for one test module, on a free port (tests/pg.py)."""
    with postgres_cluster(free_port()) as cluster:
        yield cluster
