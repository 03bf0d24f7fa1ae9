"""Which database and cache every app the tests build runs on.

``PRACTICE_TEST_BACKEND`` picks it for a whole pytest run:

``sqlite`` (the default)
    The embedded defaults: a copy of a migrated SQLite file and a cache
    directory per test (``make_app``) or per gunicorn (``start_server``).
``postgres-redis``
    One PostgreSQL cluster and one redis-server (``devservers/``) per session
    (per xdist worker), started on first use and stopped at the end. Each test's
    apps, and each gunicorn, get a database of their own, made from a migrated
    template with ``CREATE DATABASE ... TEMPLATE``, and a Redis key prefix of
    their own (``FLASK_CACHE_KEY_PREFIX``), so that ``flask cache clear``
    (cachelib deletes ``PREFIX*``; it flushes the whole db only without a
    prefix) never touches another test's entries. A database a test is done
    with is emptied as the template is (``TRUNCATE ... RESTART IDENTITY``: every
    table but ``alembic_version``, the one the migrations fill) and given to the
    next test: about 30 ms against 100-300 ms for ``CREATE DATABASE``.

Tests that are about the embedded backends by nature are marked
``@pytest.mark.sqlite_only(reason=...)``; tests that start a PostgreSQL or
Redis of their own are marked ``@pytest.mark.own_backend(reason=...)``: both run
in the SQLite run only, and the ``postgres-redis`` run deselects them.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
import pytest
import redis

from devservers.postgres import Postgres, postgres_cluster
from devservers.processes import free_port, run_flask
from devservers.redis import redis_server

VARIABLE = "PRACTICE_TEST_BACKEND"
SQLITE = "sqlite"
POSTGRES_REDIS = "postgres-redis"
TEMPLATE = "practice_template"
# Deselected when the run is on PostgreSQL + Redis.
SQLITE_ONLY = "sqlite_only"
OWN_BACKEND = "own_backend"


def selected() -> str:
    value = os.environ.get(VARIABLE, SQLITE) or SQLITE
    if value not in (SQLITE, POSTGRES_REDIS):
        raise pytest.UsageError(f"{VARIABLE}={value!r}: use {SQLITE!r} or {POSTGRES_REDIS!r}")
    return value


def on_postgres_redis() -> bool:
    return selected() == POSTGRES_REDIS


@dataclass
class Isolated:
    """One test's (or one gunicorn's) database and cache on the shared servers."""

    database: str  # its name
    database_url: str
    redis_url: str
    key_prefix: str
    drop: Callable[[], None]

    def settings(self) -> dict[str, Any]:
        """For ``create_app``'s mapping."""
        return {
            "SQLALCHEMY_DATABASE_URI": self.database_url,
            "CACHE_TYPE": "RedisCache",
            "CACHE_REDIS_URL": self.redis_url,
            "CACHE_KEY_PREFIX": self.key_prefix,
        }

    def env(self) -> dict[str, str]:
        """For a subprocess (gunicorn, ``flask``): the same, as ``FLASK_*`` variables."""
        return {f"FLASK_{key}": value for key, value in self.settings().items()}


@dataclass
class SharedServers:
    """The session's PostgreSQL cluster and redis-server."""

    postgres: Postgres
    redis_url: str
    _numbers: Iterator[int] = field(default_factory=itertools.count)
    _free: list[str] = field(default_factory=list)  # emptied databases, ready again
    _tables: list[str] = field(default_factory=list)  # the ones the template has empty
    _reusable: bool = True  # False: the migrations fill a table, so every test gets a copy

    def connect(self, database: str = "postgres") -> psycopg.Connection[Any]:
        url = self.database_url(database).replace("postgresql+psycopg://", "postgresql://")
        return psycopg.connect(url, autocommit=True)

    def database_url(self, name: str) -> str:
        return self.postgres.url.rsplit("/", 1)[0] + "/" + name

    def isolated(self) -> Isolated:
        number = next(self._numbers)
        if self._free:
            name = self._free.pop()
        else:
            name = f"t{number}"
            with self.connect() as conn:
                conn.execute(f"CREATE DATABASE {name} TEMPLATE {TEMPLATE}")
        # Ends in ":" after a number: "practice:k2:" never starts "practice:k23:...",
        # so cachelib's clear (KEYS PREFIX*) deletes this app's entries alone.
        prefix = f"practice:k{number}:"
        return Isolated(
            name,
            self.database_url(name),
            self.redis_url,
            prefix,
            lambda: self._done(name, prefix),
        )

    def _done(self, name: str, prefix: str) -> None:
        """Forget the prefix's keys; empty the database as the template is and keep it."""
        with contextlib.suppress(redis.RedisError), redis.Redis.from_url(self.redis_url) as client:
            keys = list(client.scan_iter(match=prefix + "*", count=1000))
            if keys:
                client.delete(*keys)
        try:
            if not self._reusable:
                raise psycopg.Error("the template is not empty")
            with self.connect() as conn:
                # Whatever a test left connected (an app it never disposed, a killed worker).
                conn.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                    " WHERE datname = %s AND pid <> pg_backend_pid()",
                    (name,),
                )
            with self.connect(name) as conn:
                conn.execute(f"TRUNCATE {', '.join(self._tables)} RESTART IDENTITY CASCADE")
        except psycopg.Error:
            with contextlib.suppress(psycopg.Error), self.connect() as conn:
                conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
            return
        self._free.append(name)


_servers: SharedServers | None = None
_sqlite_template: Path | None = None
_stack = contextlib.ExitStack()


def migrated_sqlite() -> Path:
    """A SQLite file the migrations made, once a session, for tests and servers to copy."""
    global _sqlite_template
    if _sqlite_template is None:
        folder = Path(tempfile.mkdtemp(prefix="practice-template-"))
        _stack.callback(shutil.rmtree, folder, ignore_errors=True)
        path = folder / "template.sqlite3"
        env = {
            **os.environ,
            "PRACTICE_APP_INSTANCE": str(folder / "instance"),
            "FLASK_SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}",
        }
        run_flask(env, "db", "upgrade", check=True)
        _sqlite_template = path
    return _sqlite_template


def shared() -> SharedServers:
    """Start the session's servers on first use (``stop`` at the session's end)."""
    global _servers
    if _servers is None:
        folder = Path(tempfile.mkdtemp(prefix="practice-redis-"))
        _stack.callback(shutil.rmtree, folder, ignore_errors=True)
        try:
            postgres = _stack.enter_context(postgres_cluster(free_port(), fast=True))
            redis_url = _stack.enter_context(redis_server(free_port(), folder))
        except RuntimeError as err:  # not installed, or did not start: devservers says which
            pytest.fail(str(err))
        servers = SharedServers(postgres, redis_url)
        with servers.connect() as conn:
            conn.execute(f"CREATE DATABASE {TEMPLATE}")
        env = {
            **os.environ,
            "PRACTICE_APP_INSTANCE": str(folder / "instance"),
            "FLASK_SQLALCHEMY_DATABASE_URI": servers.database_url(TEMPLATE),
        }
        migrated = run_flask(env, "db", "upgrade")
        if migrated.returncode != 0:
            _stack.close()
            pytest.fail(f"migrating the template database failed:\n{migrated.stderr}")
        with servers.connect(TEMPLATE) as conn:
            tables = [
                row[0]
                for row in conn.execute(
                    "SELECT quote_ident(tablename) FROM pg_tables WHERE schemaname = 'public'"
                )
            ]
            for table in tables:
                empty = f"SELECT NOT EXISTS (SELECT FROM {table})"  # noqa: S608 (quote_ident)
                if conn.execute(empty).fetchone() == (True,):
                    servers._tables.append(table)
                elif table != "alembic_version":
                    # The migrations filled it: emptying it would not give the template back.
                    servers._reusable = False
        _servers = servers
    return _servers


def stop() -> None:
    global _servers, _sqlite_template
    _servers = _sqlite_template = None
    _stack.close()


def isolated() -> Isolated | None:
    """A database and key prefix of their own on PostgreSQL + Redis; None on SQLite."""
    return shared().isolated() if on_postgres_redis() else None


@contextlib.contextmanager
def empty_database() -> Iterator[str | None]:
    """A database with no tables on PostgreSQL, for the migrations to fill; None on SQLite."""
    if not on_postgres_redis():
        yield None
        return
    servers = shared()
    name = f"empty{next(servers._numbers)}"
    with servers.connect() as conn:
        conn.execute(f"CREATE DATABASE {name}")
    try:
        yield servers.database_url(name)
    finally:
        with contextlib.suppress(psycopg.Error), servers.connect() as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
