"""Problems: reading them for both doors, and the one way each is written."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Mapping
from typing import Any

from marshmallow import ValidationError
from sqlalchemy import bindparam, delete, func, insert, select
from sqlalchemy.engine import Dialect
from sqlalchemy.sql.elements import ClauseElement

from .. import caching, documents
from ..caching.statements import Prepared
from ..errors import FieldErrors, NotAllowed, ProblemNotFound, StateChanged
from ..extensions import db, write_intent
from ..models import DIFFICULTIES, MAX_ID, Problem, ProblemGram, ProblemTag, User, utc_now
from ..rules import ProblemInput, ProblemPatch, flatten_messages, name_key
from ..search import name_grams, piece_tags
from .transactions import unique, write_transaction

PROBLEM_NOT_FOUND = "Problem not found"
DUPLICATE_NAME = "A problem with this name already exists."
STATE_CHANGED = "The problem has changed since that ETag: read it again, then retry."
_ASCII_DIGITS = re.compile(r"[0-9]{1,10}")

_problem_input = ProblemInput()
_problem_patch = ProblemPatch()


def parse_problem_id(raw: str | int) -> int | None:
    """Return the id named by ``raw``, or None when it cannot be one (letters, 10^30, ...)."""
    if isinstance(raw, int):
        return raw if 0 < raw <= MAX_ID else None
    if not _ASCII_DIGITS.fullmatch(raw):
        return None
    value = int(raw)
    return value if 0 < value <= MAX_ID else None


def get_problem(raw_id: str | int) -> Problem:
    """Return the problem with this id, or raise ProblemNotFound."""
    problem_id = parse_problem_id(raw_id)
    problem = db.session.get(Problem, problem_id) if problem_id is not None else None
    if problem is None:
        raise ProblemNotFound(PROBLEM_NOT_FOUND)
    return problem


def search_problems(query: documents.SearchQuery) -> tuple[list[Problem], int]:
    """:func:`documents.search_ids`, the page as Problem objects (for the pages' templates)."""
    ids, total = documents.search_ids(query)
    if not ids:
        return [], total
    loaded = {p.id: p for p in db.session.scalars(select(Problem).where(Problem.id.in_(ids)))}
    return [loaded[i] for i in ids if i in loaded], total  # in the search's order


def problem_stats() -> dict[str, Any]:
    """Count the problems, in all and by difficulty."""
    counts = dict(
        db.session.execute(
            select(Problem.difficulty, func.count(Problem.id)).group_by(Problem.difficulty)
        ).all()
    )
    by_difficulty = {level: int(counts.get(level, 0)) for level in DIFFICULTIES}
    return {"total": sum(by_difficulty.values()), "by_difficulty": by_difficulty}


def can_edit(user: User | None, problem: Problem) -> bool:
    """Tell whether ``user`` may change ``problem``: its author, or an admin."""
    return user is not None and (user.is_admin or problem.author_id == user.id)


# -- writes ---------------------------------------------------------------------------


def load_problem_fields(data: Mapping[str, Any], *, partial: bool = False) -> dict[str, Any]:
    """Validate a problem's fields by the rules, or raise FieldErrors."""
    schema = _problem_patch if partial else _problem_input
    try:
        return schema.load(data)
    except ValidationError as err:
        raise FieldErrors(flatten_messages(err.messages)) from err


def assign(problem: Problem, fields: Mapping[str, Any]) -> bool:
    """Set ``fields`` on ``problem``; tell whether its name's key changed (its grams must too)."""
    renamed = False
    if "name" in fields:
        key = name_key(fields["name"])
        renamed = key != problem.name_key
        problem.name = fields["name"]
        problem.name_key = key
    if "difficulty" in fields:
        problem.difficulty = fields["difficulty"]
    if "statement" in fields:
        problem.statement = fields["statement"]
    if "tags" in fields:
        problem.tag_rows = [
            ProblemTag(tag=tag, position=position) for position, tag in enumerate(fields["tags"])
        ]
    return renamed


def _drop_grams(_shape: None, _dialect: Dialect) -> ClauseElement:
    return delete(ProblemGram).where(ProblemGram.problem_id == bindparam("problem_id"))


def _add_gram(_shape: None, _dialect: Dialect) -> ClauseElement:
    return insert(ProblemGram).values(gram=bindparam("gram"), problem_id=bindparam("problem_id"))


def index_name(problem: Problem, *, new: bool) -> None:
    """Write the pieces of one or two characters of ``problem``'s key (``search``), after a flush.

    Prepared statements (``statements``), not an ORM object a piece: a name
    has fifty or so, and every write of a name writes them.
    """
    connection = db.session.connection()
    if not new:
        Prepared.of(_drop_grams, None, connection.dialect).run(
            connection, {"problem_id": problem.id}
        )
    pieces = [{"gram": g, "problem_id": problem.id} for g in sorted(name_grams(problem.name_key))]
    if pieces:
        Prepared.of(_add_gram, None, connection.dialect).run_many(connection, pieces)


def _save_problem(
    problem: Problem, *, renamed: bool, new: bool = False, was_named: str | None = None
) -> None:
    """Write ``problem`` and drop what shows it: inside the write transaction, before its commit.

    ``was_named``: the name key it had before the write (a rename drops the
    searches that found it by its old name too).
    """
    db.session.flush()
    if renamed:
        index_name(problem, new=new)
    invalidate_problem(problem.id, problem.name_key, *([was_named] if was_named else []))


def invalidate_problem(problem_id: int, *name_keys: str) -> None:
    """Make stale every stored response that shows problems, and the searches it could change.

    Every view that shows problems declares the tag ``problems``; those whose
    URL takes a ``problem_id`` are dropped for this one only. The data
    cache's searches are dropped by the pieces of ``name_keys`` (the
    problem's name key, and its old one after a rename): a search that
    could not find it, before or after, keeps its results. Called inside the
    write's transaction, after a flush (a new problem has its id) and before
    the commit, so the versions change with the data.
    """
    if not write_intent.get():
        raise RuntimeError("problems are invalidated inside write_transaction(), before its commit")
    caching.invalidate_tag("problems", problem_id=problem_id)
    caching.invalidate_data(piece_tags(*name_keys))


def _lock_problem(raw_id: str | int) -> Problem:
    """Read a problem afresh and lock its row until the transaction ends; ProblemNotFound if gone.

    Edits and deletes of one problem take this lock first, so they run one
    after the other, each on the state the one before committed (on SQLite the
    write lock serialises them already; FOR UPDATE is not rendered there).
    """
    problem_id = parse_problem_id(raw_id)
    problem = None
    if problem_id is not None:
        problem = db.session.scalar(
            select(Problem)
            .where(Problem.id == problem_id)
            .with_for_update(of=Problem)
            .execution_options(populate_existing=True)
        )
    if problem is None:
        raise ProblemNotFound(PROBLEM_NOT_FOUND)
    return problem


def unique_name() -> contextlib.AbstractContextManager[None]:
    return unique("uq_problems_name_key", "name", DUPLICATE_NAME)


def require_editor(user: User | None, problem: Problem) -> None:
    """Raise NotAllowed unless ``user`` may change ``problem``."""
    if not can_edit(user, problem):
        raise NotAllowed("Only its author or an admin may change this problem.")


# A caller's condition on the state of a problem (the API's If-Match), checked
# on the locked row inside the write's transaction.
Precondition = Callable[[Problem], bool]


def _check(precondition: Precondition | None, problem: Problem) -> None:
    if precondition is not None and not precondition(problem):
        raise StateChanged(STATE_CHANGED)


def add_problem(author: User, fields: Mapping[str, Any]) -> Problem:
    now = utc_now()
    problem = Problem(author=author, created_at=now, updated_at=now)
    renamed = assign(problem, {"difficulty": "medium", "statement": "", "tags": [], **fields})
    db.session.add(problem)
    _save_problem(problem, renamed=renamed, new=True)
    return problem


def create_problem(author: User, data: Mapping[str, Any]) -> Problem:
    """Add a problem written by ``author``; invalid fields are FieldErrors, a taken name ValueTaken.

    ``data`` is checked by the rules here, whoever calls: the API's fields,
    loaded by the same schema already, pass again unchanged.
    """
    fields = load_problem_fields(data)
    with unique_name(), write_transaction():
        problem = add_problem(author, fields)
    return problem


def update_problem(
    actor: User,
    problem_id: str | int,
    data: Mapping[str, Any],
    *,
    replace: bool = False,
    precondition: Precondition | None = None,
) -> Problem:
    """Change the given fields of a problem; with ``replace``, all of them (PUT, the edit form).

    ``data`` is checked by the rules first (FieldErrors): with ``replace`` the
    name is required and fields left out take their defaults. The problem is
    read in the write transaction, locked: ProblemNotFound when it is gone by
    then; StateChanged when it is not in the state ``precondition`` wants (so
    of two writers holding one state, one wins); a taken name is ValueTaken.
    """
    fields = load_problem_fields(data, partial=not replace)
    with unique_name(), write_transaction():
        problem = _lock_problem(problem_id)
        require_editor(actor, problem)
        _check(precondition, problem)
        was_named = problem.name_key
        renamed = assign(problem, fields)
        problem.updated_at = utc_now()
        _save_problem(problem, renamed=renamed, was_named=was_named)
    return problem


def delete_problem(
    actor: User, problem_id: str | int, *, precondition: Precondition | None = None
) -> None:
    """Remove a problem; ProblemNotFound when it is gone already, StateChanged as above."""
    with write_transaction():
        problem = _lock_problem(problem_id)
        require_editor(actor, problem)
        _check(precondition, problem)
        name_key = problem.name_key
        db.session.delete(problem)
        db.session.flush()
        invalidate_problem(problem.id, name_key)
