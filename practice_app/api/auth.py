"""Who is calling the API: bearer tokens, and webhooks signed with a shared secret."""

from __future__ import annotations

import functools
import hashlib
import hmac
import re
import time
from collections.abc import Callable
from typing import Any, TypeVar

from flask import current_app, g, request

from .. import services, telemetry
from ..errors import NotAllowed, NotAuthenticated
from ..models import User

F = TypeVar("F", bound=Callable[..., Any])

TOKEN_REQUIRED = "An API token is required: send Authorization: Bearer TOKEN."
TOKEN_INVALID = "The API token is invalid or revoked."
ADMIN_OR_SIGNED = (
    "An admin's API token (Authorization: Bearer TOKEN) or a signed webhook call "
    "(X-Webhook-Timestamp and X-Webhook-Signature) is required."
)
SIGNATURE_HEADER = "X-Webhook-Signature"
TIMESTAMP_HEADER = "X-Webhook-Timestamp"
_TIMESTAMP = re.compile(r"[0-9]{1,12}")
_SIGNATURE = re.compile(r"sha256=([0-9a-fA-F]{64})")


def bearer_token() -> str | None:
    """Return the token of an ``Authorization: Bearer`` header (scheme in any case)."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def write_limit_key() -> str:
    """Who an API write counts against for the rate limit: its token, else its address.

    The token's digest, never the token: the limiter's storage (Redis) holds no secret.
    """
    token = bearer_token()
    if token is None:
        return "address:" + (request.remote_addr or "unknown")
    return "token:" + hashlib.sha256(token.encode("utf-8", "surrogateescape")).hexdigest()[:32]


def token_user() -> User | None:
    """Return the token's user, None without a token; a bad token is a 401.

    The token's row id is kept in ``g.api_token_id`` (idempotency keys are per token).
    """
    token = bearer_token()
    if token is None:
        return None
    row = services.live_token(token)
    if row is None:
        raise NotAuthenticated(TOKEN_INVALID, 'Bearer error="invalid_token"')
    g.api_token_id = row.id
    user: User = row.user
    telemetry.name_user(request.environ, user.name)
    return user


def token_required(view: F) -> F:
    """Refuse the request with 401 unless it carries a live token; keep its user in ``g``."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        user = token_user()
        if user is None:
            raise NotAuthenticated(TOKEN_REQUIRED)
        g.api_user = user
        return view(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def webhook_signature(secret: str, timestamp: str, body: bytes) -> str:
    """The signature of a webhook call: ``sha256=`` and the HMAC-SHA256 of ``TIMESTAMP.BODY``."""
    message = timestamp.encode("ascii") + b"." + body
    return "sha256=" + hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()


def check_webhook_signature(now: float | None = None) -> None:
    """Accept the request as a signed webhook call, or raise NotAuthenticated saying why not.

    The signature covers the timestamp and the raw body, is compared in
    constant time, and counts only within ``REVALIDATE_WINDOW_SECONDS`` of
    the server's clock, so a captured call cannot be replayed later.
    """
    secret = current_app.config.get("REVALIDATE_SECRET")
    if not secret:
        raise NotAuthenticated("Signed calls are refused: the server has no revalidation secret.")
    timestamp = request.headers.get(TIMESTAMP_HEADER, "").strip()
    if not _TIMESTAMP.fullmatch(timestamp):
        raise NotAuthenticated(f"{TIMESTAMP_HEADER} must be the time in UNIX seconds.")
    window = float(current_app.config["REVALIDATE_WINDOW_SECONDS"])
    if abs((time.time() if now is None else now) - int(timestamp)) > window:
        raise NotAuthenticated(
            f"{TIMESTAMP_HEADER} is more than {window:g} s from the server's time."
        )
    given = _SIGNATURE.fullmatch(request.headers.get(SIGNATURE_HEADER, "").strip())
    expected = webhook_signature(secret, timestamp, request.get_data(cache=True))
    if given is None or not hmac.compare_digest(
        expected.encode("ascii"), ("sha256=" + given.group(1).lower()).encode("ascii")
    ):
        raise NotAuthenticated(f"{SIGNATURE_HEADER} is not the signature of this call.")


def admin_or_signed_webhook(view: F) -> F:
    """Let the view run for a signed webhook call, or an admin's token (others: 403); else 401.

    A call that carries the webhook's headers is checked as one, token or not:
    a bad signature is never excused by a token sent beside it.
    """

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if SIGNATURE_HEADER in request.headers or TIMESTAMP_HEADER in request.headers:
            check_webhook_signature()
        else:
            user = token_user()
            if user is None:
                raise NotAuthenticated(ADMIN_OR_SIGNED)
            if not user.is_admin:
                raise NotAllowed("Only an admin's token may do this.")
            g.api_user = user
        return view(*args, **kwargs)

    return wrapper  # type: ignore[return-value]
