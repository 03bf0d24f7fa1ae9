"""Flask extensions, created unbound; ``create_app`` binds them to an app."""

from __future__ import annotations

import contextlib
import contextvars
import threading
import weakref
from collections.abc import Iterator
from typing import Any

from flask import Flask
from flask_caching import Cache
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import MetaData, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase

from . import telemetry
from .adapters.smorest import Api
from .caching import RouteCache


class Base(DeclarativeBase):
    """Declarative base whose constraint names are stable, so migrations are too."""

    metadata = MetaData(
        naming_convention={
            "ix": "ix_%(column_0_label)s",
            "uq": "uq_%(table_name)s_%(column_0_name)s",
            "ck": "ck_%(table_name)s_%(constraint_name)s",
            "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
            "pk": "pk_%(table_name)s",
        }
    )


db = SQLAlchemy(model_class=Base)
migrate = Migrate(render_as_batch=True)
cache = Cache()
csrf = CSRFProtect()
login_manager = LoginManager()
# Keyed by client address (set FLASK_PROXY_FIX_HOPS behind a proxy); bound by rate_limits.
limiter = Limiter(key_func=get_remote_address)
api = Api()

# True inside ``writing()``: the transactions begun there are writers'.
write_intent: contextvars.ContextVar[bool] = contextvars.ContextVar("write_intent", default=False)
# On SQLite, the threads of one process write one at a time, per engine (see ``writing``).
_writer_locks: weakref.WeakKeyDictionary[Engine, threading.RLock] = weakref.WeakKeyDictionary()


@contextlib.contextmanager
def writing(engine: Engine | None = None) -> Iterator[None]:
    """Make the transactions begun inside the block writers': on SQLite, ``BEGIN IMMEDIATE``.

    Only the transaction that writes takes SQLite's one write lock, and only
    for as long as it runs: ``services`` end whatever read transaction the
    request had open, then begin their writing one inside this block. On
    SQLite the threads of a worker also take turns here first, so only one
    writer per process waits on the database's lock (with gthread's threads,
    forty of them busy-waiting made the holder, which shares its process's
    interpreter lock with its waiters, slow to finish). ``engine``: the app's
    (``db.engine``) unless given; an engine of another database takes no turn.
    """
    lock = _writer_locks.get(engine if engine is not None else db.engine)
    held = lock.acquire() if lock is not None else False
    reset = write_intent.set(True)
    try:
        yield
    finally:
        write_intent.reset(reset)
        if held and lock is not None:
            lock.release()


# The cache's versions live in this database; its hit and miss counts go to the
# metrics; its claims of a version take this process's turn to write.
route_cache = RouteCache(db=db, cache=cache, count=telemetry.count_cache, write_turn=writing)


def init_sqlite(app: Flask) -> None:
    """Put SQLite in WAL mode with a busy timeout, and begin writers' transactions IMMEDIATE.

    WAL lets readers run beside the one writer; the busy timeout makes a writer
    wait for the lock instead of failing with "database is locked". A
    transaction that reads and then writes would still fail at once if another
    worker committed in between (SQLITE_BUSY_SNAPSHOT), so the transactions
    begun inside ``writing()`` begin with ``BEGIN IMMEDIATE``, taking the write
    lock (with the busy timeout) before they read; every other one is a reader.
    """
    timeout_ms = int(app.config["SQLITE_BUSY_TIMEOUT_MS"])

    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # let the "begin" hook below issue BEGIN
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={timeout_ms}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    def on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE" if write_intent.get() else "BEGIN")

    with app.app_context():
        engine: Engine = db.engine
        if engine.dialect.name != "sqlite":
            return
        _writer_locks.setdefault(engine, threading.RLock())
        event.listen(engine, "connect", on_connect)
        event.listen(engine, "begin", on_begin)
