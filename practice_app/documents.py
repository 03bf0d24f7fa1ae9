"""The problems as the API sends them, and the search: read as rows by statements prepared once.

The list and the search are the app's dynamic reads, and a profile of them
showed SQLAlchemy *building and compiling* each request's statements
costing three times what SQLite took to run them. So each statement is
written once in SQLAlchemy Core, for each shape a request can take (how
the name is matched, whether a difficulty or a tag filters, whether it is
paged), and prepared once (:mod:`statements`): no ORM objects, no
marshmallow, no statement built per request.

Every matching rule is :mod:`search`'s; the document is ``ProblemOut``'s
shape, field for field (``tests/unit/test_documents.py`` checks both).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from sqlalchemy import ColumnElement, Integer, bindparam, case, column, func, select, text
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.sql.elements import ClauseElement

from .caching import cache_data
from .caching.statements import Prepared
from .errors import MalformedRequest
from .extensions import db
from .models import DIFFICULTIES, TIMESTAMP, Problem, ProblemGram, ProblemTag, User
from .rules import name_key
from .search import TRIGRAM, like_pattern, match_phrase, query_tags

NUL_REFUSED = "The request contains a NUL character, which no value here can hold."

# How a name is matched (``search``): every name, by ``problem_grams`` (one or
# two characters), by FTS5 (SQLite, three or more) or by LIKE on ``pg_trgm``'s
# index (PostgreSQL, three or more).
EVERY, GRAMS, FTS, LIKE = "every", "grams", "fts", "like"
# On PostgreSQL, a LIKE search's transaction finds its rows by pg_trgm's GIN
# index, which only bitmap scans read: neither a scan of the table nor a walk
# of another index (the author's, filtering every row) is what its planner
# should price lower (see search.like_pattern). Plans priced with those scans
# off cost more than jit_above_cost, and compiling one took 78 ms: no JIT.
PREFER_TRIGRAMS = (
    "SET LOCAL enable_seqscan = off; SET LOCAL enable_indexscan = off; SET LOCAL jit = off"
)


class Shape(NamedTuple):
    """What a read's statement looks like; its values are bound when it runs."""

    match: str
    difficulty: bool
    tag: bool
    paged: bool
    ids_only: bool = False  # the problems' ids, not their documents (the pages load objects)
    order: str = "oldest"  # one of SORTS


# The orders a search's page can come in; the API's is "oldest" (by id), the pages' "newest".
SORTS = ("newest", "oldest", "name", "difficulty")


def _order(order: str) -> list[Any]:
    """ORDER BY of a sort: always ending with the id, so pages never overlap or skip."""
    if order == "newest":
        return [Problem.id.desc()]
    if order == "name":
        return [Problem.name_key, Problem.id]
    if order == "difficulty":
        rank = case({level: n for n, level in enumerate(DIFFICULTIES)}, value=Problem.difficulty)
        return [rank, Problem.id]
    return [Problem.id]


def _timestamp_text(column_: Any, dialect: str) -> ColumnElement[str]:
    """A timestamp column written by the database as the resource writes it (``TIMESTAMP``)."""
    if dialect == "postgresql":
        return func.to_char(func.timezone("UTC", column_), 'YYYY-MM-DD"T"HH24:MI:SS"Z"')
    return func.strftime(TIMESTAMP, column_)  # SQLite keeps UTC as "YYYY-MM-DD HH:MM:SS..."


def _conditions(shape: Shape) -> list[ColumnElement[bool]]:
    """The WHERE of a shape, with ``:key``, ``:difficulty`` and ``:tag`` left to bind."""
    conditions: list[ColumnElement[bool]] = []
    if shape.match == GRAMS:
        grams = select(ProblemGram.problem_id).where(ProblemGram.gram == bindparam("key"))
        conditions.append(Problem.id.in_(grams))
    elif shape.match == FTS:
        matching = text("SELECT rowid FROM problems_fts WHERE problems_fts MATCH :key").columns(
            column("rowid", Integer)
        )
        conditions.append(Problem.id.in_(matching))
    elif shape.match == LIKE:
        conditions.append(Problem.name_key.like(bindparam("key"), escape="/"))
    if shape.difficulty:
        conditions.append(Problem.difficulty == bindparam("difficulty"))
    if shape.tag:
        tagged = select(ProblemTag.problem_id).where(ProblemTag.tag == bindparam("tag"))
        conditions.append(Problem.id.in_(tagged))
    return conditions


def page_statement(shape: Shape, dialect: Dialect) -> ClauseElement:
    """The rows of a shape (documents or ids), in its order; a page's rows count every match."""
    columns: list[Any] = [Problem.id]
    if not shape.ids_only:
        columns += [
            Problem.name,
            Problem.difficulty,
            Problem.statement,
            User.name,
            _timestamp_text(Problem.created_at, dialect.name),
            _timestamp_text(Problem.updated_at, dialect.name),
        ]
    if shape.paged:
        columns.append(func.count().over())
    statement = select(*columns).where(*_conditions(shape)).order_by(*_order(shape.order))
    if not shape.ids_only:
        statement = statement.join(User, Problem.author_id == User.id)
    if shape.paged:
        statement = statement.limit(bindparam("limit")).offset(bindparam("offset"))
    return statement


def _count(shape: Shape, _dialect: Dialect) -> ClauseElement:
    """How many problems a shape matches (for a page past the last one)."""
    return select(func.count()).select_from(Problem).where(*_conditions(shape))


def _every_tag(_shape: Shape, _dialect: Dialect) -> ClauseElement:
    """Every problem's tags, in order."""
    return select(ProblemTag.problem_id, ProblemTag.tag).order_by(
        ProblemTag.problem_id, ProblemTag.position
    )


def _tags_in(count: int, _dialect: Dialect) -> ClauseElement:
    """The tags of ``count`` problems (``:id0`` ...), in order: ``(problem_id, tag)`` rows."""
    ids: list[Any] = [bindparam(f"id{n}") for n in range(count)]
    return (
        select(ProblemTag.problem_id, ProblemTag.tag)
        .where(ProblemTag.problem_id.in_(ids))
        .order_by(ProblemTag.problem_id, ProblemTag.position)
    )


def _tags_of(connection: Connection, ids: Sequence[int]) -> list[Any]:
    """The tags of these problems, in order (one statement per number of ids: at most 200)."""
    tags = Prepared.of(_tags_in, len(ids), connection.dialect)
    return tags.rows(connection, {f"id{n}": problem_id for n, problem_id in enumerate(ids)})


def _documents(rows: Sequence[Any], tag_rows: Sequence[Any]) -> list[dict[str, Any]]:
    tags: dict[int, list[str]] = {row[0]: [] for row in rows}
    for problem_id, tag in tag_rows:
        listed = tags.get(problem_id)
        if listed is not None:
            listed.append(tag)
    return [
        {
            "id": problem_id,
            "name": name,
            "difficulty": difficulty,
            "tags": tags[problem_id],
            "statement": statement,
            "author": author,
            "created_at": created_at,
            "updated_at": updated_at,
        }
        for problem_id, name, difficulty, statement, author, created_at, updated_at, *_ in rows
    ]


def list_documents() -> list[dict[str, Any]]:
    """Every problem as the API shows it, by id: two statements, whatever the catalogue's size."""
    connection = db.session.connection()
    shape = Shape(EVERY, difficulty=False, tag=False, paged=False)
    rows = Prepared.of(page_statement, shape, connection.dialect).rows(connection, {})
    tag_rows = (
        Prepared.of(_every_tag, shape, connection.dialect).rows(connection, {}) if rows else []
    )
    return _documents(rows, tag_rows)


def prepare(dialect: Dialect) -> None:
    """Compile the list's statements for ``dialect`` now (at start), not in a render.

    The list is rendered after every write, by whichever worker gets the next
    GET: compiled at start, no worker's first render pays for it.
    """
    shape = Shape(EVERY, difficulty=False, tag=False, paged=False)
    Prepared.of(page_statement, shape, dialect)
    Prepared.of(_every_tag, shape, dialect)


class Search(NamedTuple):
    """A search's page, as rows (``page_statement``'s columns), and how many problems it found."""

    rows: list[Any]
    total: int

    @property
    def ids(self) -> list[int]:
        return [row[0] for row in self.rows]


def search_shape(
    query: str, dialect: Dialect, *, difficulty: str | None = None, tag: str | None = None
) -> tuple[Shape, dict[str, Any]]:
    """The shape of a search's statement on ``dialect``, and the values it binds."""
    key = name_key(query.strip())
    values: dict[str, Any] = {}
    if not key:
        match = EVERY
    elif len(key) < TRIGRAM:
        match, values["key"] = GRAMS, key
    elif dialect.name == "sqlite":
        match, values["key"] = FTS, match_phrase(key)
    else:
        match, values["key"] = LIKE, like_pattern(key)
    if difficulty:
        values["difficulty"] = difficulty
    if tag:
        values["tag"] = tag.strip().lower()
    return Shape(match, bool(difficulty), bool(tag), paged=True), values


@dataclass(frozen=True)
class SearchQuery:
    """One search of the catalogue, as every layer passes it on: the API, the pages, services.

    ``text`` is what the name must contain (in any case, compared by its key);
    ``difficulty`` and ``tag`` filter (None: any); ``limit`` and ``offset``
    page in the order ``sort`` names (one of ``SORTS``; by id by default).
    A ``limit`` of 0 asks for the total alone.
    """

    text: str
    difficulty: str | None = None
    tag: str | None = None
    limit: int = 50
    offset: int = 0
    sort: str = "oldest"

    def page(self, limit: int, offset: int) -> SearchQuery:
        """The same search, another page."""
        return dataclasses.replace(self, limit=limit, offset=offset)

    def key(self) -> tuple[str, str | None, str | None, int, int, str]:
        """What decides the results: the text as the name rule keys it, the filters, the page.

        ``Tree``, `` tree `` and ``TREE`` are one search (the data cache keeps one result).
        """
        tag = self.tag.strip().lower() if self.tag else None
        text = name_key(self.text.strip())
        return (text, self.difficulty or None, tag, self.limit, self.offset, self.sort)

    def data_tags(self) -> tuple[str, ...]:
        """What writes drop this search's kept results: the first piece of its text (``search``).

        A search of one or two characters, or of none, depends on every write.
        A NUL is refused here, before the data cache looks for anything (the
        name of a version cannot hold one on PostgreSQL).
        """
        self.refuse_nul()
        return query_tags(name_key(self.text.strip()))

    def refuse_nul(self) -> None:
        """MalformedRequest when the text or the tag holds a NUL, which no value here can hold."""
        if "\x00" in self.text or (self.tag is not None and "\x00" in self.tag):
            raise MalformedRequest(NUL_REFUSED)

    def filters(self) -> dict[str, Any]:
        """The filters that are set, by their query-string names."""
        return {
            name: value
            for name, value in (("difficulty", self.difficulty), ("tag", self.tag))
            if value
        }


def search(query: SearchQuery, *, ids_only: bool = False) -> Search:
    """One page of the problems whose name contains ``query.text``, in any case, and the total.

    With ``ids_only``, each row is a problem's id and the total, not its document.

    Names are compared by their keys (``rules.name_key``: "é" finds "É"),
    every character of the query taken literally (``%``, ``_``, quotes), on
    an index (:mod:`search`). A NUL in the query or tag is a MalformedRequest.
    """
    query.refuse_nul()
    connection = db.session.connection()
    dialect = connection.dialect
    shape, values = search_shape(query.text, dialect, difficulty=query.difficulty, tag=query.tag)
    if query.sort not in SORTS:
        raise ValueError(f"sort must be one of {SORTS}, not {query.sort!r}")
    shape = shape._replace(ids_only=ids_only, order=query.sort)
    values.update(limit=query.limit, offset=query.offset)
    if shape.match == LIKE:
        connection.exec_driver_sql(PREFER_TRIGRAMS)
    paged = query.limit > 0
    rows = Prepared.of(page_statement, shape, dialect).rows(connection, values) if paged else []
    if rows:
        total = int(rows[0][-1])
    elif query.offset == 0 and paged:
        total = 0
    else:
        total = int(Prepared.of(_count, shape, dialect).rows(connection, values)[0][0])
    return Search(rows, total)


@cache_data(tags=("problems",), key=SearchQuery.key, depends=SearchQuery.data_tags)
def search_documents(query: SearchQuery) -> tuple[list[dict[str, Any]], int]:
    """:func:`search`, the page as the API's documents: kept by the data cache, per query."""
    found = search(query)
    connection = db.session.connection()
    tag_rows = _tags_of(connection, found.ids) if found.rows else []
    return _documents(found.rows, tag_rows), found.total


@cache_data(tags=("problems",), key=SearchQuery.key, depends=SearchQuery.data_tags)
def search_ids(query: SearchQuery) -> tuple[list[int], int]:
    """:func:`search`, the page as ids (for the pages): kept by the data cache, per query."""
    found = search(query, ids_only=True)
    return found.ids, found.total
