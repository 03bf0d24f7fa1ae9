"""Fixtures: a fresh app, database and cache per test; factories that return ids;
and a gunicorn server for the end-to-end tests."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner

from practice_app import create_app, services
from practice_app.extensions import db
from practice_app.models import User
from tests.pg import Postgres, postgres_cluster

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
PASSWORD = "correct-horse-battery"


def run_flask(
    env: dict[str, str], *args: str, stdin: str | None = None, check: bool = False
) -> subprocess.CompletedProcess[str]:
    """Run ``flask --app practice_app ARGS`` from the project root, as the contract's CLI."""
    return subprocess.run(
        [str(BIN / "flask"), "--app", "practice_app", *args],
        cwd=ROOT,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        check=check,
    )


@pytest.fixture(scope="session")
def migrated_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A database made by the migrations once, copied for each test."""
    folder = tmp_path_factory.mktemp("template")
    path = folder / "template.sqlite3"
    env = {**os.environ, "PRACTICE_APP_INSTANCE": str(folder / "instance")}
    env["FLASK_SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{path}"
    run_flask(env, "db", "upgrade", check=True)
    return path


@pytest.fixture
def make_app(
    tmp_path: Path, migrated_db: Path, monkeypatch: pytest.MonkeyPatch
) -> Callable[..., Flask]:
    """Build apps on this test's own instance folder, database and cache."""
    instance = tmp_path / "instance"
    monkeypatch.setenv("PRACTICE_APP_INSTANCE", str(instance))
    database = tmp_path / "test.sqlite3"
    shutil.copy(migrated_db, database)

    def build(**config: Any) -> Flask:
        settings = {
            "TESTING": True,
            # Many sign-ins per test module; tests/test_web_rate_limit.py turns it on.
            "RATELIMIT_ENABLED": False,
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{database}",
            "CACHE_DIR": str(tmp_path / "cache"),
            **config,
        }
        return create_app(settings)

    return build


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


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class LiveServer:
    """A gunicorn serving ``wsgi:app`` on its own instance folder."""

    base_url: str
    instance: Path
    env: dict[str, str]
    process: subprocess.Popen[bytes]
    log_path: Path

    def url(self, path: str) -> str:
        return self.base_url + path

    def flask(self, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        return run_flask(self.env, *args, stdin=stdin)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def user_token(self, name: str, password: str = PASSWORD) -> str:
        """Create user ``name`` with the CLI and return a new API token of theirs."""
        made = self.flask("users", "create", name, stdin=password + "\n")
        assert made.returncode == 0, made.stderr
        issued = self.flask("tokens", "create", name)
        assert issued.returncode == 0, issued.stderr
        return issued.stdout.strip().splitlines()[-1]


def start_server(
    folder: Path, *, workers: int = 3, extra_env: dict[str, str] | None = None
) -> LiveServer:
    """Migrate a fresh instance folder and serve it with gunicorn; wait for /healthz."""
    instance = folder / "instance"
    instance.mkdir(parents=True)
    env = {
        **os.environ,
        "PRACTICE_APP_INSTANCE": str(instance),
        "FLASK_SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder / 'e2e.sqlite3'}",
        # The tests write far faster than a client; the limit has tests of its own.
        "FLASK_API_WRITE_RATE_LIMIT": "100000 per minute",
        **(extra_env or {}),
    }
    run_flask(env, "db", "upgrade", check=True)
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
    server = LiveServer(f"http://127.0.0.1:{port}", instance, env, process, log_path)
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
