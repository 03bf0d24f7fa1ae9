"""Versions in the database: what makes a stored response current, or not.

Every stored response depends on names: ``all``, ``path:<its canonical
path>`` and ``tag:<t>`` for each tag its view declares. Each name has a version in the
``cache_versions`` table (0 when it has no row). A write bumps the versions of
what it changed *in its own transaction*, so they commit together with the
data, or not at all. A render reads the versions before it reads any data
(see ``render``), and stores them with the response; a hit is served only if
the database still holds exactly those versions.

So the database, not the cache backend, decides what is current: a backend
that is full, read-only, stopped, paused, evicting or restored from an old
copy can lose entries or fail to store them, but never make an old one
current again; a render that raced a write recorded the old versions and is
never served; and no clock orders anything.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import AbstractContextManager
from typing import Any

from sqlalchemy import Table, bindparam, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Dialect, Engine
from sqlalchemy.orm import Session
from sqlalchemy.pool import PoolProxiedConnection
from sqlalchemy.sql.elements import ClauseElement

from .statements import Prepared

# What a claim runs inside, given the engine: the app's turn to write, if it
# keeps one (on SQLite, this app's threads write one at a time).
WriteTurn = Callable[[Engine], AbstractContextManager[Any]]


def no_turn(_engine: Engine) -> AbstractContextManager[None]:
    """The default :data:`WriteTurn`: the claim runs as soon as it is asked for."""
    return contextlib.nullcontext()


# The name every stored response depends on: ``flask cache clear`` bumps it.
ALL = "all"


def path_name(path: str) -> str:
    """The name of ``path``'s version: bumped by writes that change it, and by each entry stored."""
    return "path:" + path


def names_for(path: str, tags: Iterable[str]) -> tuple[str, ...]:
    """The names a stored response of ``path`` with these tags depends on."""
    return (ALL, path_name(path), *("tag:" + tag for tag in tags))


def _versions_of(shape: tuple[Table, int], _dialect: Dialect) -> ClauseElement:
    """The versions of ``count`` names (``:name0`` ...) as one row, NULL for a name with none.

    One row, not a row per name: under gunicorn's threads each step of a
    statement lets the worker's other threads run, so fewer steps cost a hit less.
    """
    table, count = shape
    return select(
        *(
            select(table.c.version).where(table.c.name == bindparam(f"name{n}")).scalar_subquery()
            for n in range(count)
        )
    )


def _read(
    connection: Connection | PoolProxiedConnection,
    dialect: Dialect,
    table: Table,
    names: Sequence[str],
) -> dict[str, int]:
    statement = Prepared.of(_versions_of, (table, len(names)), dialect)
    (row,) = statement.rows(connection, {f"name{n}": name for n, name in enumerate(names)})
    return {name: int(version or 0) for name, version in zip(names, row, strict=True)}


def read_on(connection: Connection, table: Table, names: Sequence[str]) -> dict[str, int]:
    """Read the versions of ``names`` in ``connection``'s transaction (absent ones are 0)."""
    return _read(connection, connection.dialect, table, names)


def is_current(recorded: Mapping[str, int], now: Mapping[str, int]) -> bool:
    """Tell whether the versions a response recorded are still the database's."""
    return all(now.get(name, 0) == version for name, version in recorded.items())


class VersionReader:
    """The hit path's read of the versions, before Flask, on a DBAPI connection of its own.

    One indexed query in autocommit mode, so each read sees the latest
    commit. Each thread keeps its connection (checking one out of the pool
    for every hit costs more than the query), from a pool of its own (the
    engine's, recreated: same driver settings and connect hooks), so the
    threads' kept connections never leave the requests' pool short; a
    connection that fails is thrown away, and the next read opens another.
    """

    def __init__(self, engine: Engine, table: Table, write_turn: WriteTurn = no_turn) -> None:
        self.engine = engine
        self.table = table
        self.write_turn = write_turn
        self.pool = engine.pool.recreate()
        self._local = threading.local()

    def _connection(self) -> Any:
        connection = getattr(self._local, "connection", None)
        if connection is None:
            connection = self.pool.connect()
            dbapi: Any = connection.dbapi_connection
            # Each statement its own transaction: a read sees the latest commit,
            # and a claim holds no lock after it (SQLAlchemy's name for it, per driver).
            self.engine.dialect.set_isolation_level(dbapi, "AUTOCOMMIT")
            self._local.connection = connection
        return connection

    def read(self, names: Sequence[str]) -> dict[str, int]:
        """The versions of ``names`` (absent ones are 0): the statement ``read_on`` runs."""
        connection = self._connection()
        try:
            return _read(connection, self.engine.dialect, self.table, names)
        except Exception:
            self._local.connection = None
            connection.invalidate()
            raise

    def claim(self, name: str, seen: int) -> bool:
        """Move ``name`` from version ``seen`` to the next, if it is still ``seen``: True if so.

        A render claims its path's next version before its entry is stored,
        so that of all the renders that read one version (after an expiry, or
        a flush of the store that took the render lock with it), one alone
        stores its entry, and every worker's copy of the entry before it stops
        being current. One statement in autocommit: the database decides.
        """
        connection = self._connection()
        shape, values = (
            ("insert", {"name": name}) if seen == 0 else ("update", {"name": name, "seen": seen})
        )
        try:
            with self.write_turn(self.engine):
                statement = Prepared.of(_claim, (self.table, shape), self.engine.dialect)
                return statement.affected(connection, values) == 1
        except Exception:
            self._local.connection = None
            connection.invalidate()
            raise


def _insert(dialect: Dialect) -> Any:
    """The dialect's ``INSERT ... ON CONFLICT`` (SQLite and PostgreSQL have one each)."""
    return postgresql.insert if dialect.name == "postgresql" else sqlite.insert


def _claim(shape: tuple[Table, str], dialect: Dialect) -> ClauseElement:
    """Version 1 of a name that has none (``insert``), or ``:seen + 1`` if it is ``:seen``."""
    table, kind = shape
    if kind == "insert":
        return (
            _insert(dialect)(table)
            .values(name=bindparam("name"), version=1)
            .on_conflict_do_nothing(index_elements=[table.c.name])
        )
    return (
        update(table)
        .where(table.c.name == bindparam("name"), table.c.version == bindparam("seen"))
        .values(version=table.c.version + 1)
    )


def _upsert(table: Table, dialect: Dialect) -> ClauseElement:
    """Add one to a name's version (1 when it has none): ``:name`` left to bind."""
    statement = _insert(dialect)(table).values(name=bindparam("name"), version=1)
    return statement.on_conflict_do_update(
        index_elements=[table.c.name], set_={"version": table.c.version + 1}
    )


def bump(session: Session, table: Table, names: Iterable[str]) -> None:
    """Add one to the version of each name, in ``session``'s open transaction.

    Names are bumped in sorted order, so two writers lock the rows in the same
    order and never deadlock (PostgreSQL). One prepared statement, run for
    each name (every write runs it: see ``statements``).
    """
    ordered = sorted(set(names))
    if not ordered:
        return
    connection = session.connection()
    upsert = Prepared.of(_upsert, table, connection.dialect)
    upsert.run_many(connection, [{"name": name} for name in ordered])
