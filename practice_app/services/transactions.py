"""Transactions that write, and unique indexes turned into the rule they enforce."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.exc import IntegrityError

from ..errors import ValueTaken
from ..extensions import db, writing


@contextmanager
def write_transaction() -> Iterator[None]:
    """Run the block as one transaction that writes: committed at its end, rolled back on error.

    Whatever read transaction the request had open is ended first, so the
    block's first statement begins the writer's own (``BEGIN IMMEDIATE`` on
    SQLite, see ``extensions.writing``): SQLite's one write lock is held for
    the writing transaction alone, never while a client sends its body, a
    password is checked or a response is rendered. Objects loaded before are
    expired, so the block reads them afresh; the ones it wrote are not expired
    by its commit, so the answer shows what this write wrote, not what another
    request committed since.
    """
    db.session.commit()  # nothing is pending here: this only ends the read transaction
    session = db.session()
    with writing():
        try:
            yield
            session.expire_on_commit = False
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.expire_on_commit = True


def violates(err: IntegrityError, constraint: str) -> bool:
    """Tell whether ``err`` is the unique index ``constraint`` refusing a value (and nothing else).

    PostgreSQL (psycopg) names the constraint; SQLite names the table and
    column in its message ("UNIQUE constraint failed: problems.name_key"),
    which the naming convention turns into the constraint's name.
    """
    diag = getattr(err.orig, "diag", None)
    name = getattr(diag, "constraint_name", None)
    if name is not None:
        return bool(name == constraint)
    message = str(err.orig)
    if not message.startswith("UNIQUE constraint failed: "):
        return False
    columns = message.removeprefix("UNIQUE constraint failed: ").split(", ")
    return [f"uq_{c.replace('.', '_')}" for c in columns] == [constraint]


@contextmanager
def unique(constraint: str, field: str, message: str) -> Iterator[None]:
    """Turn a violation of unique index ``constraint`` in the block into ValueTaken on ``field``."""
    try:
        yield
    except IntegrityError as err:
        if not violates(err, constraint):
            raise
        raise ValueTaken(field, message) from err
