"""Statements prepared once: written in SQLAlchemy Core, compiled once per dialect, run raw.

For the few statements every request runs (the list, the search, the
versions a write bumps), building a Core statement and compiling it again
each time cost more than the database took to run it. A :class:`Prepared`
statement is built and compiled the first time a process runs it on a
dialect, and then run on the DBAPI connection of the session's connection,
inside its transaction, with only its values bound.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.pool import PoolProxiedConnection
from sqlalchemy.sql.elements import ClauseElement

_PREPARED: dict[tuple[Any, ...], Prepared] = {}


@dataclass(frozen=True)
class Prepared:
    """A statement compiled for one dialect: the driver's SQL and how to bind its values."""

    sql: str
    positions: tuple[str, ...] | None  # the values' order for positional styles (``?``, ``%s``)
    constants: Mapping[str, Any]  # values the statement carries itself (a format string)

    @classmethod
    def compile(cls, statement: ClauseElement, dialect: Dialect) -> Prepared:
        compiled = statement.compile(dialect=dialect)
        positions = getattr(compiled, "positiontup", None)
        return cls(
            compiled.string,
            tuple(positions) if positions is not None else None,
            {k: v for k, v in compiled.params.items() if v is not None},
        )

    @classmethod
    def of(
        cls, build: Callable[[Any, Dialect], ClauseElement], shape: Hashable, dialect: Dialect
    ) -> Prepared:
        """``build(shape, dialect)``, compiled for ``dialect`` the first time it is asked for."""
        key = (build, shape, dialect.name, dialect.driver, dialect.paramstyle)
        prepared = _PREPARED.get(key)
        if prepared is None:
            prepared = _PREPARED.setdefault(key, cls.compile(build(shape, dialect), dialect))
        return prepared

    def _params(self, values: Mapping[str, Any]) -> Any:
        bound = {**self.constants, **values}
        return bound if self.positions is None else tuple(bound[n] for n in self.positions)

    def rows(
        self, connection: Connection | PoolProxiedConnection, values: Mapping[str, Any]
    ) -> list[Any]:
        """Run on ``connection``'s DBAPI connection (its transaction) and return every row.

        ``connection`` is the session's, or a pooled DBAPI connection of its
        own (the cache's hit path reads the versions on one, in autocommit).
        """
        cursor = _cursor(connection)
        try:
            cursor.execute(self.sql, self._params(values))
            return list(cursor.fetchall())
        finally:
            cursor.close()

    def run(self, connection: Connection, values: Mapping[str, Any]) -> None:
        """Run once on ``connection``'s DBAPI connection, returning nothing."""
        cursor = _cursor(connection)
        try:
            cursor.execute(self.sql, self._params(values))
        finally:
            cursor.close()

    def affected(
        self, connection: Connection | PoolProxiedConnection, values: Mapping[str, Any]
    ) -> int:
        """Run once on ``connection``'s DBAPI connection and return how many rows it changed."""
        cursor = _cursor(connection)
        try:
            cursor.execute(self.sql, self._params(values))
            return int(cursor.rowcount)
        finally:
            cursor.close()

    def run_many(self, connection: Connection, values: Iterable[Mapping[str, Any]]) -> None:
        """Run once for each of ``values`` (the driver's ``executemany``), returning nothing."""
        cursor = _cursor(connection)
        try:
            cursor.executemany(self.sql, [self._params(each) for each in values])
        finally:
            cursor.close()


def _cursor(connection: Connection | PoolProxiedConnection) -> Any:
    dbapi = connection.connection if isinstance(connection, Connection) else connection
    return dbapi.cursor()
