"""The one place that writes: the rules, the transactions and the cache invalidation.

The JSON API, the HTML forms and the CLI all come here, so a rule holds the
same way for each. Reads that more than one caller needs live here too.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import hmac
import json
import logging
import re
import secrets
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from importlib import resources
from typing import Any, NamedTuple
from urllib.parse import unquote, urlsplit

from flask import current_app
from marshmallow import ValidationError
from sqlalchemy import bindparam, delete, func, insert, or_, select, update
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.sql.elements import ClauseElement
from werkzeug.exceptions import HTTPException
from werkzeug.routing import RequestRedirect
from werkzeug.security import check_password_hash, generate_password_hash

from . import caching, documents
from .errors import (
    FieldErrors,
    MalformedRequest,
    NotAllowed,
    ProblemNotFound,
    StateChanged,
    TokenNotFound,
    ValueTaken,
)
from .extensions import db, writing
from .models import (
    DIFFICULTIES,
    MAX_ID,
    ApiToken,
    IdempotentRequest,
    Problem,
    ProblemGram,
    ProblemTag,
    User,
    new_session_token,
    utc_now,
)
from .rules import ProblemInput, ProblemPatch, UserInput, flatten_messages, name_key
from .search import name_grams
from .statements import Prepared

PROBLEM_NOT_FOUND = "Problem not found"
DUPLICATE_NAME = "A problem with this name already exists."
IDEMPOTENCY_KEY = re.compile(r"[\x21-\x7e]{1,255}")
IDEMPOTENCY_KEY_INVALID = "Idempotency-Key must be 1 to 255 visible ASCII characters."
IDEMPOTENCY_KEY_REUSED = "This Idempotency-Key was used with another body."
IDEMPOTENCY_KEY_BUSY = "A request with this Idempotency-Key is in progress: retry it."
STATE_CHANGED = "The problem has changed since that ETag: read it again, then retry."
SEED_AUTHOR = "curator"
TOKEN_PREFIX = "pp_"
TOKEN_TOUCH_INTERVAL = timedelta(minutes=1)
_ASCII_DIGITS = re.compile(r"[0-9]{1,10}")

log = logging.getLogger(__name__)

_problem_input = ProblemInput()
_problem_patch = ProblemPatch()
_user_input = UserInput()


# -- transactions -------------------------------------------------------------------


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


def _violates(err: IntegrityError, constraint: str) -> bool:
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
def _unique(constraint: str, field: str, message: str) -> Iterator[None]:
    """Turn a violation of unique index ``constraint`` in the block into ValueTaken on ``field``."""
    try:
        yield
    except IntegrityError as err:
        if not _violates(err, constraint):
            raise
        raise ValueTaken(field, message) from err


# -- problems: reads --------------------------------------------------------------


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


def search_problems(
    query: str,
    *,
    difficulty: str | None = None,
    tag: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[Problem], int]:
    """:func:`documents.search`, the page as Problem objects (for the pages' templates)."""
    found = documents.search(
        query, difficulty=difficulty, tag=tag, limit=limit, offset=offset, ids_only=True
    )
    if not found.rows:
        return [], found.total
    page = db.session.scalars(select(Problem).where(Problem.id.in_(found.ids)).order_by(Problem.id))
    return list(page), found.total


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


def _assign(problem: Problem, fields: Mapping[str, Any]) -> bool:
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


def _index_name(problem: Problem, *, new: bool) -> None:
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


def _save_problem(problem: Problem, *, renamed: bool, new: bool = False) -> None:
    """Write ``problem`` and drop what shows it: inside the write transaction, before its commit."""
    db.session.flush()
    if renamed:
        _index_name(problem, new=new)
    caching.invalidate_problem(problem.id)


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


def _unique_name() -> contextlib.AbstractContextManager[None]:
    return _unique("uq_problems_name_key", "name", DUPLICATE_NAME)


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


def _add_problem(author: User, fields: Mapping[str, Any]) -> Problem:
    now = utc_now()
    problem = Problem(author=author, created_at=now, updated_at=now)
    renamed = _assign(problem, {"difficulty": "medium", "statement": "", "tags": [], **fields})
    db.session.add(problem)
    _save_problem(problem, renamed=renamed, new=True)
    return problem


def create_problem(author: User, data: Mapping[str, Any]) -> Problem:
    """Add a problem written by ``author``; invalid fields are FieldErrors, a taken name ValueTaken.

    ``data`` is checked by the rules here, whoever calls: the API's fields,
    loaded by the same schema already, pass again unchanged.
    """
    fields = load_problem_fields(data)
    with _unique_name(), write_transaction():
        problem = _add_problem(author, fields)
    return problem


@dataclass(frozen=True)
class Answer:
    """What a create answered, kept to be answered again, byte for byte."""

    status: int
    location: str
    body: bytes


def idempotency_fingerprint(data: Any) -> str:
    """The fingerprint of a request's JSON: the same content, however it is spaced or ordered."""
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8", "surrogatepass")).hexdigest()


def create_problem_once(
    author: User,
    token_id: int,
    key: str,
    fingerprint: str,
    data: Mapping[str, Any],
    answer: Callable[[Problem], Answer],
    *,
    keep_seconds: int,
) -> tuple[Answer, bool]:
    """Add a problem unless this token sent this ``Idempotency-Key`` before; say which.

    Returns the answer, and True when it is the one given before (a replay).
    The key's row is inserted first, in the transaction that adds the
    problem, so the unique constraint on (token, key) decides between two
    requests with one key: on PostgreSQL the second waits for the first's
    commit, fails, and replays what the first answered (SQLite's write lock
    runs them one after the other). The same key with another body is
    FieldErrors; rows older than ``keep_seconds`` are deleted on the way.
    """
    if not IDEMPOTENCY_KEY.fullmatch(key):
        raise MalformedRequest(IDEMPOTENCY_KEY_INVALID)
    fields = load_problem_fields(data)
    for _attempt in range(2):
        try:
            with _unique_name(), write_transaction():
                cutoff = utc_now() - timedelta(seconds=keep_seconds)
                db.session.execute(
                    delete(IdempotentRequest).where(IdempotentRequest.created_at < cutoff)
                )
                row = _idempotent_request(token_id, key)
                if row is not None:
                    return _replay(row, fingerprint), True
                row = IdempotentRequest(token_id=token_id, key=key, fingerprint=fingerprint)
                db.session.add(row)
                db.session.flush()  # the unique constraint decides here
                given = answer(_add_problem(author, fields))
                row.status, row.location, row.body = given.status, given.location, given.body
            return given, False
        except IntegrityError as err:
            if not _violates(err, "uq_idempotent_requests_token_id"):
                raise
            # Another request with this key committed first: answer as it did.
    raise ValueTaken("Idempotency-Key", IDEMPOTENCY_KEY_BUSY)


def _idempotent_request(token_id: int, key: str) -> IdempotentRequest | None:
    return db.session.scalar(
        select(IdempotentRequest).where(
            IdempotentRequest.token_id == token_id, IdempotentRequest.key == key
        )
    )


def _replay(row: IdempotentRequest, fingerprint: str) -> Answer:
    if not hmac.compare_digest(row.fingerprint, fingerprint):
        raise FieldErrors({"Idempotency-Key": [IDEMPOTENCY_KEY_REUSED]}, IDEMPOTENCY_KEY_REUSED)
    return Answer(row.status, row.location, bytes(row.body))


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
    with _unique_name(), write_transaction():
        problem = _lock_problem(problem_id)
        require_editor(actor, problem)
        _check(precondition, problem)
        renamed = _assign(problem, fields)
        problem.updated_at = utc_now()
        _save_problem(problem, renamed=renamed)
    return problem


def delete_problem(
    actor: User, problem_id: str | int, *, precondition: Precondition | None = None
) -> None:
    """Remove a problem; ProblemNotFound when it is gone already, StateChanged as above."""
    with write_transaction():
        problem = _lock_problem(problem_id)
        require_editor(actor, problem)
        _check(precondition, problem)
        db.session.delete(problem)
        db.session.flush()
        caching.invalidate_problem(problem.id)


def revalidate(paths: Sequence[str], tags: Sequence[str]) -> tuple[list[str], list[str]]:
    """Drop the stored responses of ``paths`` and of every view tagged with one of ``tags``.

    Next.js's ``revalidatePath`` and ``revalidateTag``, for a CMS or a deploy
    hook: the versions are bumped in one transaction, so once this returns,
    the next GET of each, on any worker, is rendered afresh. Each path must
    be the canonical URL of a cached view (:func:`_why_unstorable`), and each tag
    one a view declares; otherwise FieldErrors, and nothing is recorded for
    any of them. Returns the paths and the tags, once each.
    """
    errors: dict[str, list[str]] = {}
    for path in paths:
        why = _why_unstorable(path)
        if why is not None:
            errors.setdefault("paths", []).append(f"{path}: {why}")
    declared = caching.declared_tags()
    for tag in tags:
        if tag not in declared:
            known = ", ".join(sorted(declared))
            errors.setdefault("tags", []).append(f"No view declares the tag {tag!r} ({known}).")
    if not paths and not tags:
        errors["paths"] = ["Name at least one path or tag."]
    if errors:
        raise FieldErrors(errors)
    named_paths, named_tags = list(dict.fromkeys(paths)), list(dict.fromkeys(tags))
    with write_transaction():
        caching.revalidate(named_paths, named_tags)
    return named_paths, named_tags


def _why_unstorable(path: str) -> str | None:
    """Say why no stored response can exist for ``path``; None when one can.

    One can for exactly the canonical spelling (as ``url_for`` builds it) of
    a URL that a cached GET view answers (declared, not ``force-dynamic``),
    with an id a problem can have. Revalidating any other path would record
    a version that no stored response reads: a caller could grow the table
    of versions without bound by inventing paths.
    """
    decoded = unquote(path)
    if not decoded.startswith("/") or any(c in "?#" or not c.isprintable() for c in decoded):
        return "not a path: it starts with / and holds no query, fragment or control character."
    adapter = current_app.url_map.bind("localhost")
    try:
        rule, values = adapter.match(decoded, method="GET", return_rule=True)
    except RequestRedirect as redirect:
        return f"not the canonical spelling, which is {urlsplit(redirect.new_url).path}."
    except HTTPException:
        return "no route of this site answers GET for it."
    policy = caching.policy_for(current_app, rule.endpoint, "GET")
    if policy is None or policy.mode == "force-dynamic":
        return "its view is never cached, so no stored response can be dropped."
    problem_id = values.get("problem_id")
    if problem_id is not None and parse_problem_id(problem_id) is None:
        return f"{problem_id!r} is not a problem id (1 to {MAX_ID}, in ASCII digits)."
    canonical = adapter.build(rule.endpoint, values, method="GET")
    if canonical != path:
        return f"not the canonical spelling, which is {canonical}."
    return None


def clear_cache() -> None:
    """Drop every stored response: stale in every worker at once, then gone from the backend."""
    with write_transaction():
        caching.invalidate_all()
    caching.clear()


# -- users and tokens ---------------------------------------------------------------


def create_user(name: str, password: str, *, admin: bool = False) -> User:
    """Add an account; invalid fields are FieldErrors, a name taken (in any case) ValueTaken."""
    try:
        fields = _user_input.load({"name": name, "password": password})
    except ValidationError as err:
        raise FieldErrors(flatten_messages(err.messages)) from err
    # Hashing takes a while: before the write transaction, not inside it.
    password_hash = generate_password_hash(fields["password"])
    with _unique("uq_users_name_key", "name", "This name is taken."), write_transaction():
        user = User(
            name=fields["name"],
            name_key=name_key(fields["name"]),
            password_hash=password_hash,
            is_admin=admin,
        )
        db.session.add(user)
    return user


def find_user(name: str) -> User | None:
    """Return the user with this name, in any case."""
    if "\x00" in name:
        return None  # no name holds one (the rules refuse control characters)
    return db.session.scalar(select(User).where(User.name_key == name_key(name.strip())))


def authenticate(name: str, password: str) -> User | None:
    """Return the user whose name and password these are, or None.

    It only reads: no sign-in takes the write lock, least of all while the
    password is checked.
    """
    user = find_user(name)
    if user is None:
        # Spend the same time as a real check, so timing does not reveal names.
        check_password_hash(_dummy_hash(), password)
        return None
    return user if check_password_hash(user.password_hash, password) else None


def end_sessions(user: User) -> None:
    """Sign ``user`` out everywhere: every session and remember-me cookie names the old token."""
    with write_transaction():
        user.session_token = new_session_token()


@functools.cache
def _dummy_hash() -> str:
    return generate_password_hash(secrets.token_hex(16))


def _token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogateescape")).hexdigest()


def create_token(user: User, label: str = "") -> tuple[ApiToken, str]:
    """Make a new API token for ``user``; return its row and the token, which is never stored."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    # A label is a note to oneself: characters it cannot show or store are dropped.
    label = "".join(ch for ch in label.strip() if ch.isprintable())[:80]
    with write_transaction():
        row = ApiToken(user=user, label=label, token_hash=_token_digest(token), prefix=token[:10])
        db.session.add(row)
    return row, token


def revoke_token(user: User, token_id: int) -> ApiToken:
    """Revoke one of ``user``'s tokens."""
    if not 0 < token_id <= MAX_ID:
        raise TokenNotFound()
    with write_transaction():
        row = db.session.get(ApiToken, token_id)
        if row is None or row.user_id != user.id:
            raise TokenNotFound()
        if row.revoked_at is None:
            row.revoked_at = utc_now()
    return row


def user_for_token(token: str) -> User | None:
    """Return the user a live API token belongs to, or None."""
    found = live_token(token)
    return None if found is None else found.user


class LiveToken(NamedTuple):
    """A live API token: its row's id, and its user."""

    id: int
    user: User


def live_token(token: str) -> LiveToken | None:
    """Return a live (not revoked) API token and its user, or None.

    Tokens are random 256-bit strings, so they are looked up by their SHA-256
    digest: the database compares digests, and the last comparison is
    constant-time; nothing about the token itself leaks through timing. The
    user comes in the same statement (every authenticated request asks).
    """
    digest = _token_digest(token)
    row = db.session.execute(
        select(User, ApiToken.id, ApiToken.token_hash, ApiToken.revoked_at, ApiToken.last_used_at)
        .join(ApiToken, ApiToken.user_id == User.id)
        .where(ApiToken.token_hash == digest)
    ).first()
    if row is None:
        return None
    user, token_id, token_hash, revoked_at, last_used_at = row
    if revoked_at is not None or not hmac.compare_digest(token_hash, digest):
        return None
    now = utc_now()
    if last_used_at is None or now - last_used_at > TOKEN_TOUCH_INTERVAL:
        _touch_token(token_id, now)
    return LiveToken(token_id, user)


def _touch_token(token_id: int, now: datetime) -> None:
    """Record that a token was used: a short write of its own, which never fails the request.

    Last-used is a hint, so a busy or failing database only costs the hint;
    the conditional update leaves alone a time another request wrote meanwhile.
    """
    try:
        with write_transaction():
            db.session.execute(
                update(ApiToken)
                .where(ApiToken.id == token_id)
                .where(
                    or_(
                        ApiToken.last_used_at.is_(None),
                        ApiToken.last_used_at < now - TOKEN_TOUCH_INTERVAL,
                    )
                )
                .values(last_used_at=now)
                .execution_options(synchronize_session=False)
            )
    except SQLAlchemyError as exc:
        log.warning("could not record the use of API token %s: %r", token_id, exc)


# -- sample data -----------------------------------------------------------------


def seed_problems() -> int:
    """Load the sample problems that are not there yet; return how many were added."""
    author = find_user(SEED_AUTHOR)
    if author is None:
        author = create_user(SEED_AUTHOR, secrets.token_urlsafe(24))
    samples = json.loads(
        resources.files("practice_app").joinpath("seed_problems.json").read_text("utf-8")
    )
    with _unique_name(), write_transaction():
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
        db.session.flush()
        for problem in added:
            _index_name(problem, new=True)
            caching.invalidate_problem(problem.id)
    return len(added)
