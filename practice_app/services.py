"""The one place that writes: the rules, the transactions and the cache invalidation.

The JSON API, the HTML forms and the CLI all come here, so a rule holds the
same way for each. Reads that more than one caller needs live here too.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import json
import re
import secrets
from collections.abc import Mapping
from datetime import timedelta
from importlib import resources
from typing import Any

from marshmallow import ValidationError
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError, OperationalError
from werkzeug.security import check_password_hash, generate_password_hash

from . import caching
from .errors import Conflict, FieldErrors, Forbidden, NotFound
from .extensions import db
from .models import (
    DIFFICULTIES,
    ApiToken,
    Problem,
    ProblemTag,
    User,
    new_session_token,
    utc_now,
)
from .rules import ProblemInput, ProblemPatch, UserInput, flatten_messages, name_key

PROBLEM_NOT_FOUND = "Problem not found"
DUPLICATE_NAME = "A problem with this name already exists."
SEED_AUTHOR = "curator"
TOKEN_PREFIX = "pp_"
TOKEN_TOUCH_INTERVAL = timedelta(minutes=1)
_MAX_ID = 2**63 - 1
_ASCII_DIGITS = re.compile(r"[0-9]{1,19}")

_problem_input = ProblemInput()
_problem_patch = ProblemPatch()
_user_input = UserInput()


# -- problems: reads --------------------------------------------------------------


def parse_problem_id(raw: str | int) -> int | None:
    """Return the id named by ``raw``, or None when it cannot be one (letters, 10^30, ...)."""
    if isinstance(raw, int):
        return raw if 0 < raw <= _MAX_ID else None
    if not _ASCII_DIGITS.fullmatch(raw):
        return None
    value = int(raw)
    return value if 0 < value <= _MAX_ID else None


def get_problem(raw_id: str | int) -> Problem:
    """Return the problem with this id, or raise NotFound."""
    problem_id = parse_problem_id(raw_id)
    problem = db.session.get(Problem, problem_id) if problem_id is not None else None
    if problem is None:
        raise NotFound(PROBLEM_NOT_FOUND)
    return problem


def list_problems() -> list[Problem]:
    """Return every problem, by id."""
    return list(db.session.scalars(select(Problem).order_by(Problem.id)))


def search_problems(
    query: str,
    *,
    difficulty: str | None = None,
    tag: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[Problem], int]:
    """Return one page of the problems whose name contains ``query`` in any case, and the total.

    Names are compared casefolded (so "é" finds "É"), and ``%`` and ``_`` in
    the query are matched literally.
    """
    conditions = [Problem.name_key.contains(name_key(query.strip()), autoescape=True)]
    if difficulty:
        conditions.append(Problem.difficulty == difficulty)
    if tag:
        tagged = select(ProblemTag.problem_id).where(ProblemTag.tag == tag.strip().lower())
        conditions.append(Problem.id.in_(tagged))
    total = db.session.scalar(select(func.count(Problem.id)).where(*conditions)) or 0
    page = db.session.scalars(
        select(Problem).where(*conditions).order_by(Problem.id).limit(limit).offset(offset)
    )
    return list(page), total


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


# -- problems: writes -------------------------------------------------------------


def load_problem_fields(data: Mapping[str, Any], *, partial: bool = False) -> dict[str, Any]:
    """Validate a problem's fields by the rules, or raise FieldErrors."""
    schema = _problem_patch if partial else _problem_input
    try:
        return schema.load(data)
    except ValidationError as err:
        raise FieldErrors(flatten_messages(err.messages)) from err


def _assign(problem: Problem, fields: Mapping[str, Any]) -> None:
    if "name" in fields:
        problem.name = fields["name"]
        problem.name_key = name_key(fields["name"])
    if "difficulty" in fields:
        problem.difficulty = fields["difficulty"]
    if "statement" in fields:
        problem.statement = fields["statement"]
    if "tags" in fields:
        problem.tag_rows = [
            ProblemTag(tag=tag, position=position) for position, tag in enumerate(fields["tags"])
        ]


def _commit_problem(problem: Problem) -> None:
    try:
        db.session.commit()
    except IntegrityError as err:
        db.session.rollback()
        raise Conflict("name", DUPLICATE_NAME) from err
    caching.invalidate_problem(problem.id)


def require_editor(user: User | None, problem: Problem) -> None:
    """Raise Forbidden unless ``user`` may change ``problem``."""
    if not can_edit(user, problem):
        raise Forbidden("Only its author or an admin may change this problem.")


def create_problem(author: User, fields: Mapping[str, Any]) -> Problem:
    """Add a problem written by ``author``; a name that is taken is a Conflict."""
    now = utc_now()
    problem = Problem(author=author, created_at=now, updated_at=now)
    _assign(problem, {"difficulty": "medium", "statement": "", "tags": [], **fields})
    db.session.add(problem)
    _commit_problem(problem)
    return problem


def update_problem(actor: User, problem: Problem, fields: Mapping[str, Any]) -> Problem:
    """Change the given fields of ``problem`` (PATCH, and PUT with every field given)."""
    require_editor(actor, problem)
    _assign(problem, fields)
    problem.updated_at = utc_now()
    _commit_problem(problem)
    return problem


def delete_problem(actor: User, problem: Problem) -> None:
    """Remove ``problem``."""
    require_editor(actor, problem)
    problem_id = problem.id
    db.session.delete(problem)
    db.session.commit()
    caching.invalidate_problem(problem_id)


# -- users and tokens ---------------------------------------------------------------


def create_user(name: str, password: str, *, admin: bool = False) -> User:
    """Add an account; a name that is taken (in any case) is a Conflict."""
    try:
        fields = _user_input.load({"name": name, "password": password})
    except ValidationError as err:
        raise FieldErrors(flatten_messages(err.messages)) from err
    user = User(
        name=fields["name"],
        name_key=name_key(fields["name"]),
        password_hash=generate_password_hash(fields["password"]),
        is_admin=admin,
    )
    db.session.add(user)
    try:
        db.session.commit()
    except IntegrityError as err:
        db.session.rollback()
        raise Conflict("name", "This name is taken.") from err
    return user


def find_user(name: str) -> User | None:
    """Return the user with this name, in any case."""
    return db.session.scalar(select(User).where(User.name_key == name_key(name.strip())))


def authenticate(name: str, password: str) -> User | None:
    """Return the user whose name and password these are, or None."""
    user = find_user(name)
    if user is None:
        # Spend the same time as a real check, so timing does not reveal names.
        check_password_hash(_dummy_hash(), password)
        return None
    return user if check_password_hash(user.password_hash, password) else None


def end_sessions(user: User) -> None:
    """Sign ``user`` out everywhere: every session and remember-me cookie names the old token."""
    user.session_token = new_session_token()
    db.session.commit()


@functools.cache
def _dummy_hash() -> str:
    return generate_password_hash(secrets.token_hex(16))


def _token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogateescape")).hexdigest()


def create_token(user: User, label: str = "") -> tuple[ApiToken, str]:
    """Make a new API token for ``user``; return its row and the token, which is never stored."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(
        user=user, label=label.strip()[:80], token_hash=_token_digest(token), prefix=token[:10]
    )
    db.session.add(row)
    db.session.commit()
    return row, token


def revoke_token(user: User, token_id: int) -> ApiToken:
    """Revoke one of ``user``'s tokens."""
    row = db.session.get(ApiToken, token_id)
    if row is None or row.user_id != user.id:
        raise NotFound("Token not found")
    if row.revoked_at is None:
        row.revoked_at = utc_now()
        db.session.commit()
    return row


def user_for_token(token: str) -> User | None:
    """Return the user a live API token belongs to, or None.

    Tokens are random 256-bit strings, so they are looked up by their SHA-256
    digest: the database compares digests, and the last comparison is
    constant-time; nothing about the token itself leaks through timing.
    """
    digest = _token_digest(token)
    row = db.session.scalar(select(ApiToken).where(ApiToken.token_hash == digest))
    if row is None or row.revoked_at is not None or not hmac.compare_digest(row.token_hash, digest):
        return None
    now = utc_now()
    if row.last_used_at is None or now - row.last_used_at > TOKEN_TOUCH_INTERVAL:
        row.last_used_at = now
        try:
            db.session.commit()
        except OperationalError:
            # Last-used is a hint: a busy database must not fail the request.
            db.session.rollback()
    return row.user


# -- sample data -----------------------------------------------------------------


def seed_problems() -> int:
    """Load the sample problems that are not there yet; return how many were added."""
    author = find_user(SEED_AUTHOR)
    if author is None:
        author = create_user(SEED_AUTHOR, secrets.token_urlsafe(24))
    samples = json.loads(
        resources.files("practice_app").joinpath("seed_problems.json").read_text("utf-8")
    )
    existing = set(db.session.scalars(select(Problem.name_key)))
    added = []
    for sample in samples:
        fields = load_problem_fields(sample)
        if name_key(fields["name"]) in existing:
            continue
        now = utc_now()
        problem = Problem(author=author, created_at=now, updated_at=now)
        _assign(problem, fields)
        db.session.add(problem)
        added.append(problem)
    db.session.commit()
    for problem in added:
        caching.invalidate_problem(problem.id)
    return len(added)
