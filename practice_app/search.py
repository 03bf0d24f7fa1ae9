"""How names are found: "name contains q, in any case", served by an index, never a scan.

The rule is plain: ``q``'s key (``rules.name_key``: NFKC, casefolded) is a
substring of the problem's ``name_key``, ``%``, ``_``, quotes and every other
character taken literally. The indexes (migration 0005) give exactly that:

- three characters or more: on SQLite, the FTS5 table ``problems_fts``
  (trigram tokenizer, case-sensitive over the casefolded keys), asked for the
  key as a quoted phrase; on PostgreSQL, ``name_key LIKE '%q%'`` (escaped),
  which ``pg_trgm``'s GIN index serves;
- one or two characters, which trigrams cannot serve: ``problem_grams``,
  every distinct piece of one or two characters of each key;
- no character at all (a query of characters the key drops): every name.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, Integer, column, select, text

from .extensions import db
from .models import Problem, ProblemGram

TRIGRAM = 3


def name_grams(key: str) -> set[str]:
    """The distinct pieces of one and two characters of a name's key: its ``problem_grams``."""
    return {key[i : i + n] for n in (1, 2) for i in range(len(key) - n + 1)}


def prefer_the_index(key: str) -> None:
    """On PostgreSQL, have the rest of this transaction scan ``pg_trgm``'s index, not the table.

    Its planner prices a GIN scan for trigrams that many names share above a
    scan of the whole table, which then grows with the catalogue; the index
    answers in about a millisecond at 100,000 problems either way.
    """
    if len(key) >= TRIGRAM and db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(text("SET LOCAL enable_seqscan = off"))


def name_contains(key: str) -> ColumnElement[bool] | None:
    """The condition "the problem's name_key contains ``key``", on an index; None: every name."""
    if not key:
        return None
    if len(key) < TRIGRAM:
        return Problem.id.in_(select(ProblemGram.problem_id).where(ProblemGram.gram == key))
    if db.session.get_bind().dialect.name == "sqlite":
        phrase = '"' + key.replace('"', '""') + '"'
        matching = (
            text("SELECT rowid FROM problems_fts WHERE problems_fts MATCH :phrase")
            .bindparams(phrase=phrase)
            .columns(column("rowid", Integer))
        )
        return Problem.id.in_(matching)
    return Problem.name_key.contains(key, autoescape=True)
