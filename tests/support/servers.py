"""gunicorn serving ``wsgi:app`` on a free port, for the end-to-end and browser tests.

Every server runs on the backend ``PRACTICE_TEST_BACKEND`` selects (support/backends.py):
a copy of the migrated SQLite file and a cache directory of its own, or on PostgreSQL +
Redis a database made from the migrated template and a key prefix of its own.
"""

from __future__ import annotations

import os
import runpy
import shutil
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from unittest import mock

import requests

from devservers.processes import BIN, ROOT, free_port, run_flask
from practice_app import create_app
from practice_app.extensions import db
from tests.support import backends
from tests.support.auth import PASSWORD


@dataclass
class LiveServer:
    """A gunicorn serving ``wsgi:app`` on its own instance folder."""

    base_url: str
    instance: Path
    env: dict[str, str]
    process: subprocess.Popen[bytes]
    log_path: Path
    # Drops the server's own PostgreSQL database, if it has one (support/backends.py).
    cleanup: Callable[[], None] | None = None

    def url(self, path: str) -> str:
        return self.base_url + path

    def flask(self, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        return run_flask(self.env, *args, stdin=stdin)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def user_token(self, name: str, password: str = PASSWORD, *, admin: bool = False) -> str:
        """Create user ``name`` (an admin with ``admin``) with the CLI; return a new API token.

        ``flask users create`` and ``flask tokens create``, run by click's runner in
        this process on an app configured from the server's environment alone, as
        ``flask`` would be: starting ``flask`` twice costs two seconds of CPU, for
        every token of every end-to-end test (e2e/test_cli_and_config.py starts it).
        """
        with mock.patch.dict(os.environ, self.env, clear=True):
            app = create_app()
        try:
            runner = app.test_cli_runner()
            made = runner.invoke(
                args=["users", "create", name, *(["--admin"] if admin else [])],
                input=password + "\n",
            )
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


@contextmanager
def serving(folder: Path, **kwargs: Any) -> Iterator[LiveServer]:
    """``start_server(folder, **kwargs)`` for the ``with`` block; stopped after it."""
    server = start_server(folder, **kwargs)
    try:
        yield server
    finally:
        stop_server(server)


def make_run_settings() -> dict[str, Any]:
    """gunicorn.conf.py's settings, as gunicorn reads them from this environment."""
    return runpy.run_path(str(ROOT / "gunicorn.conf.py"))


def worker_pids(server: LiveServer) -> set[int]:
    """The gunicorn workers: the master's children."""
    found = subprocess.run(
        ["ps", "-o", "pid=", "--ppid", str(server.process.pid)],
        capture_output=True,
        text=True,
        check=False,
    )
    return {int(pid) for pid in found.stdout.split()}
