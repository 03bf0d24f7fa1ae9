"""Creating a problem once per Idempotency-Key: a retry is answered as the first request was."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from ..errors import FieldErrors, MalformedRequest, ValueTaken
from ..extensions import db
from ..models import IdempotentRequest, Problem, User, utc_now
from .problems import add_problem, load_problem_fields, unique_name
from .transactions import violates, write_transaction

IDEMPOTENCY_KEY = re.compile(r"[\x21-\x7e]{1,255}")
IDEMPOTENCY_KEY_INVALID = "Idempotency-Key must be 1 to 255 visible ASCII characters."
IDEMPOTENCY_KEY_REUSED = "This Idempotency-Key was used with another body."
IDEMPOTENCY_KEY_BUSY = "A request with this Idempotency-Key is in progress: retry it."


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
            with unique_name(), write_transaction():
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
                given = answer(add_problem(author, fields))
                row.status, row.location, row.body = given.status, given.location, given.body
            return given, False
        except IntegrityError as err:
            if not violates(err, "uq_idempotent_requests_token_id"):
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
