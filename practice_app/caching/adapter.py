"""The caching package's only reaches into Flask's private parts, in one place.

Each function names what it needs and why; ``tests/unit/test_caching_adapter.py``
checks them against the installed Flask, so an upgrade that moves them fails
there, not in production.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, current_app, request
from flask.globals import request_ctx
from flask.sessions import SessionMixin

from .tracking import TrackingRequest


def current_request() -> TrackingRequest:
    """The request object itself, not the proxy (its ``__dict__`` holds what a view read)."""
    req: TrackingRequest = request._get_current_object()  # type: ignore[attr-defined]
    return req


def current_flask_app() -> Flask:
    """The app object itself, not the proxy."""
    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
    return app


def raw_session() -> SessionMixin | None:
    """The request's session object, without marking it accessed.

    ``flask.session`` sets ``accessed`` (and so ``Vary: Cookie``) whenever the
    proxy is touched, even by Flask-Login after every view; the object on the
    request context tells whether the view itself read it.
    """
    ctx: Any = request_ctx._get_current_object()  # type: ignore[attr-defined]
    session: SessionMixin | None = ctx._session
    return session
