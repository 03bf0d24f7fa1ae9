"""Bearer tokens: who is calling the API."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from flask import g, request

from .. import services
from ..errors import Unauthorized
from ..models import User

F = TypeVar("F", bound=Callable[..., Any])

TOKEN_REQUIRED = "An API token is required: send Authorization: Bearer TOKEN."
TOKEN_INVALID = "The API token is invalid or revoked."


def bearer_token() -> str | None:
    """Return the token of an ``Authorization: Bearer`` header (scheme in any case)."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def token_user() -> User | None:
    """Return the token's user, None without a token; a bad token is a 401."""
    token = bearer_token()
    if token is None:
        return None
    user = services.user_for_token(token)
    if user is None:
        raise Unauthorized(TOKEN_INVALID, 'Bearer error="invalid_token"')
    return user


def token_required(view: F) -> F:
    """Refuse the request with 401 unless it carries a live token; keep its user in ``g``."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        user = token_user()
        if user is None:
            raise Unauthorized(TOKEN_REQUIRED)
        g.api_user = user
        return view(*args, **kwargs)

    return wrapper  # type: ignore[return-value]
