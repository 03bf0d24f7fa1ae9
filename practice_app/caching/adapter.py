"""The caching package's only reaches into Flask's private parts, in one place.

Each function names what it needs and why; ``tests/unit/test_caching_adapter.py``
checks them against the installed Flask, so an upgrade that moves them fails
there, not in production.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
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


def run_views_through(app: Flask, dispatch: Callable[[Flask, Callable[[], Any]], Any]) -> None:
    """Make ``app`` run each matched view as ``dispatch(app, run_view)``.

    Flask runs the view in ``dispatch_request``, which its
    ``full_dispatch_request`` calls as a method of the app, after the
    ``before_request`` hooks and before ``after_request``: replacing it on
    this app object (as ``app.wsgi_app`` is replaced by middleware) wraps
    every view, a subclass's ``dispatch_request`` included, without asking
    the app to use a class of ours.
    """
    run_view = app.dispatch_request
    app.dispatch_request = functools.partial(dispatch, app, run_view)  # type: ignore[method-assign]
