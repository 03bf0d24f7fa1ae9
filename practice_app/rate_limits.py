"""Rate limits: Flask-Limiter, counting across every worker of the machine, and never a 500.

Flask-Limiter keeps its counts in a ``limits`` storage: memory (one count per
process), Redis, Memcached, MongoDB... With several gunicorn workers and no
server, the memory storage lets a client try N times *per worker*: five
workers let 34 wrong passwords through a limit of ten a minute. So the
embedded default is :class:`SQLiteStorage`, a ``limits`` storage in a SQLite
file of the instance folder, which every worker of the machine shares without
a server (``FLASK_RATELIMIT_STORAGE_URI=redis://...`` counts across machines).

Whatever the storage, when it fails (Redis stopped, paused or full; the file
unwritable) Flask-Limiter's own in-memory fallback takes over: limits are
then counted per worker in memory, and the storage is tried again after 1,
2, 4... seconds. A Redis storage gets short socket timeouts and no retries,
so a paused Redis costs a request a fraction of a second, and only the
requests that try it again.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

from flask import Flask
from limits.storage import Storage
from redis.backoff import NoBackoff
from redis.retry import Retry

from .extensions import limiter

SCHEME = "sqlite"
# Expired counters are deleted at most this often, by the write that finds them.
SWEEP_SECONDS = 60.0

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS counters ("
    " key TEXT PRIMARY KEY, count INTEGER NOT NULL, expires REAL NOT NULL"
    ") WITHOUT ROWID"
)
# One statement: a counter whose window is over starts again from ``amount``.
_INCR = (
    "INSERT INTO counters (key, count, expires) VALUES (:key, :amount, :expires) "
    "ON CONFLICT (key) DO UPDATE SET "
    " count = CASE WHEN expires <= :now THEN excluded.count ELSE count + excluded.count END,"
    " expires = CASE WHEN expires <= :now THEN excluded.expires ELSE expires END "
    "RETURNING count"
)


class SQLiteStorage(Storage):
    """A ``limits`` storage in a SQLite file: one count per key for every process of the machine.

    ``sqlite:////absolute/path/to/file`` (``FLASK_RATELIMIT_STORAGE_URI``;
    the default is ``rate-limits.sqlite3`` in the instance folder). Fixed
    windows only, Flask-Limiter's default strategy. Each counter is one row,
    incremented by one atomic statement; the file is in WAL mode without
    fsync, because a count lost in a power cut only gives a client its tries
    back. Each thread keeps its own connection.
    """

    STORAGE_SCHEME = [SCHEME]

    def __init__(
        self,
        uri: str,
        wrap_exceptions: bool = False,
        busy_timeout: float = 0.5,
        **options: float | str | bool,
    ) -> None:
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)
        path = uri.removeprefix(f"{SCHEME}://")
        if not path.startswith("/"):
            raise ValueError(f"{uri!r}: a rate-limit file is {SCHEME}:////absolute/path")
        self.path = Path(path)
        self.busy_timeout = float(busy_timeout)
        self._local = threading.local()
        self._next_sweep = 0.0

    @property
    def base_exceptions(self) -> tuple[type[Exception], ...]:
        return (sqlite3.Error, OSError)

    def _connection(self) -> sqlite3.Connection:
        # Per thread and per process: a connection must not cross a fork.
        held = getattr(self._local, "held", None)
        if held is not None and held[0] == os.getpid():
            return held[1]
        with contextlib.suppress(FileExistsError):  # private, like the database
            os.close(os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        connection = sqlite3.connect(
            self.path, timeout=self.busy_timeout, isolation_level=None, check_same_thread=False
        )
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=OFF")
        connection.execute(_SCHEMA)
        self._local.held = (os.getpid(), connection)
        return connection

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        now = time.time()
        connection = self._connection()
        (count,) = connection.execute(
            _INCR, {"key": key, "amount": amount, "expires": now + expiry, "now": now}
        ).fetchone()
        if now >= self._next_sweep:
            self._next_sweep = now + SWEEP_SECONDS
            connection.execute("DELETE FROM counters WHERE expires <= ?", (now,))
        return int(count)

    def get(self, key: str) -> int:
        row = (
            self._connection()
            .execute("SELECT count FROM counters WHERE key = ? AND expires > ?", (key, time.time()))
            .fetchone()
        )
        return int(row[0]) if row else 0

    def get_expiry(self, key: str) -> float:
        now = time.time()
        row = (
            self._connection()
            .execute("SELECT expires FROM counters WHERE key = ? AND expires > ?", (key, now))
            .fetchone()
        )
        return float(row[0]) if row else now

    def check(self) -> bool:
        try:
            self._connection().execute("SELECT 1 FROM counters LIMIT 1").fetchall()
        except (sqlite3.Error, OSError):  # OSError: the file cannot even be created
            return False
        return True

    def reset(self) -> int | None:
        return self._connection().execute("DELETE FROM counters").rowcount

    def clear(self, key: str) -> None:
        self._connection().execute("DELETE FROM counters WHERE key = ?", (key,))


def storage_uri(instance: Path) -> str:
    """The default storage: a file of the instance folder, shared by the machine's workers."""
    return f"{SCHEME}://{instance.resolve() / 'rate-limits.sqlite3'}"


def init_app(app: Flask) -> None:
    """Bind Flask-Limiter with the default storage, and a Redis storage's short timeouts.

    ``RATELIMIT_STORAGE_OPTIONS`` set by configuration win over these.
    """
    uri = app.config.get("RATELIMIT_STORAGE_URI") or storage_uri(Path(app.instance_path))
    app.config["RATELIMIT_STORAGE_URI"] = uri
    options: dict[str, Any] = {}
    if uri.split(":", 1)[0] in ("redis", "rediss", "redis+unix"):
        seconds = float(app.config["RATELIMIT_REDIS_TIMEOUT_SECONDS"])
        options = {
            "socket_timeout": seconds,
            "socket_connect_timeout": seconds,
            # redis-py retries a timed-out command three times by default.
            "retry": Retry(NoBackoff(), 0),
        }
    app.config["RATELIMIT_STORAGE_OPTIONS"] = {
        **options,
        **(app.config.get("RATELIMIT_STORAGE_OPTIONS") or {}),
    }
    limiter.init_app(app)
