"""Accounts: users, their passwords and sessions, and their API tokens."""

from __future__ import annotations

import functools
import hashlib
import hmac
import logging
import secrets
from datetime import datetime, timedelta
from typing import Any, NamedTuple, cast

from marshmallow import ValidationError
from sqlalchemy import CursorResult, delete, or_, select, update
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.security import check_password_hash, generate_password_hash

from ..errors import FieldErrors, TokenNotFound
from ..extensions import db
from ..models import MAX_ID, ApiToken, User, new_session_token, utc_now
from ..rules import UserInput, flatten_messages, name_key
from .transactions import unique, write_transaction

TOKEN_PREFIX = "pp_"
TOKEN_TOUCH_INTERVAL = timedelta(minutes=1)

log = logging.getLogger(__name__)

_user_input = UserInput()
# The same rules for a new password as for the password of a new account.
_password_input = UserInput(only=("password",))

WRONG_PASSWORD = "That is not your current password."


def create_user(name: str, password: str, *, admin: bool = False) -> User:
    """Add an account; invalid fields are FieldErrors, a name taken (in any case) ValueTaken."""
    try:
        fields = _user_input.load({"name": name, "password": password})
    except ValidationError as err:
        raise FieldErrors(flatten_messages(err.messages)) from err
    # Hashing takes a while: before the write transaction, not inside it.
    password_hash = generate_password_hash(fields["password"])
    with unique("uq_users_name_key", "name", "This name is taken."), write_transaction():
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


def load_password(password: str) -> str:
    """A new password, checked by the rules of sign-up; FieldErrors on ``password`` otherwise."""
    try:
        fields = _password_input.load({"password": password})
    except ValidationError as err:
        raise FieldErrors(flatten_messages(err.messages)) from err
    return str(fields["password"])


def change_password(user: User, current: str, new: str) -> None:
    """Give ``user`` the password ``new``, if ``current`` is theirs; sign them out everywhere.

    A wrong ``current`` is a FieldErrors on ``current_password``, a ``new``
    against the rules one on ``password`` (both at once). The user's session
    token changes with the hash, in one write, so every session and
    remember-me cookie of theirs signs no one in any more: the caller signs
    the browser that asked in again. The hash is replaced only if it is still
    the one ``current`` was checked against: a change made meanwhile by
    another request wins, and this one is refused as a wrong password.
    API tokens are not sessions: they keep working until revoked.
    """
    checked_hash = user.password_hash
    errors: dict[str, list[str]] = {}
    # Checking and hashing take a while: before the write transaction, not inside it.
    if not check_password_hash(checked_hash, current):
        errors["current_password"] = [WRONG_PASSWORD]
    try:
        new = load_password(new)
    except FieldErrors as err:
        errors.update(err.details)
    if errors:
        raise FieldErrors(errors)
    new_hash = generate_password_hash(new)
    with write_transaction():
        result = cast(
            "CursorResult[Any]",
            db.session.execute(
                update(User)
                .where(User.id == user.id, User.password_hash == checked_hash)
                .values(password_hash=new_hash, session_token=new_session_token())
            ),
        )
        if result.rowcount != 1:
            raise FieldErrors({"current_password": [WRONG_PASSWORD]})


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


def clear_revoked_tokens(user: User) -> int:
    """Delete ``user``'s revoked tokens (theirs only); return how many there were.

    A token deleted is as dead as a revoked one: ``live_token`` finds no row
    for it. The idempotency keys it used go with it (ON DELETE CASCADE).
    """
    with write_transaction():
        result = cast(
            "CursorResult[Any]",
            db.session.execute(
                delete(ApiToken).where(
                    ApiToken.user_id == user.id, ApiToken.revoked_at.is_not(None)
                )
            ),
        )
    return int(result.rowcount)


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
