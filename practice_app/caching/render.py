"""The miss path, inside Flask: run the view under its declaration and store what it made.

The versions a response depends on are read before the view reads any data:
as the first statement of the transaction the view's first query begins (a
session event), or at once if a transaction is already open. SQLite then
reads the versions and the data from one snapshot; PostgreSQL (read
committed) reads the data no older than the versions. Either way an entry
never records versions newer than its data. A view that turns out to read
the request is dynamic, and does not pay for the read.
"""

from __future__ import annotations

import contextvars
import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flask import Flask, Response, request
from flask.sessions import SecureCookieSessionInterface, SessionMixin
from sqlalchemy import Table, event
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session, SessionTransaction

from .adapter import current_request, raw_session
from .compression import choose, compress, encode_all
from .middleware import (
    HOLDING_ENVIRON,
    KEY_ENVIRON,
    REPLACES_ENVIRON,
    RESULT_ENVIRON,
    CacheMiddleware,
    etag_matches,
)
from .policy import DYNAMIC_CACHE_CONTROL, StaticViewReadRequest, policy_for
from .state import BoundCache, bound
from .store import Entry, body_etag
from .versions import names_for, path_name, read_on

# Headers that belong to one response, not to the stored representation.
_UNSTORED_HEADERS = frozenset(
    {"set-cookie", "date", "server", "content-length", "x-cache", "age", "cache-control", "etag"}
)


@dataclass
class _Render:
    """A render of a view that may be stored: what it depends on, what it has read."""

    names: tuple[str, ...]
    mode: str
    table: Table
    reads: set[str] = field(default_factory=set)
    versions: dict[str, int] | None = None

    def going_dynamic(self) -> bool:
        session = raw_session()
        return self.mode == "auto" and bool(self.reads or getattr(session, "accessed", False))


_render: contextvars.ContextVar[_Render | None] = contextvars.ContextVar(
    "route_cache_render", default=None
)


def _read_versions_first(
    _session: Session, _transaction: SessionTransaction, connection: Connection
) -> None:
    render = _render.get()
    if render is None or render.versions is not None or render.going_dynamic():
        return
    render.versions = read_on(connection, render.table, render.names)


def listen_for_renders() -> None:
    """Read a render's versions as its first query (once per process)."""
    if not event.contains(Session, "after_begin", _read_versions_first):
        event.listen(Session, "after_begin", _read_versions_first)


def dispatch(app: Flask, run_view: Callable[[], Any]) -> Response:
    """Run the matched view under its declaration (called by the app's dispatch_request)."""
    req = current_request()
    policy = policy_for(app, request.endpoint, request.method)
    if policy is None:
        return app.make_response(run_view())
    key = request.environ.get(KEY_ENVIRON)
    if request.method not in ("GET", "HEAD") or policy.mode == "force-dynamic" or key is None:
        return mark_dynamic(app.make_response(run_view()))

    cache = bound(app)
    middleware = cache.middleware
    store = cache.store
    started = store.clock()
    table = cache.extension.table
    render = _Render(names_for(key, policy.tags), policy.mode, table)
    session = cache.extension.db.session()
    if session.in_transaction():
        render.versions = read_on(session.connection(), table, render.names)
    # Flask marks the session "accessed" whenever the proxy is touched; look at
    # the object itself so that only the view's own reads count.
    raw = raw_session()
    accessed_before = bool(getattr(raw, "accessed", False))
    if raw is not None:
        raw.accessed = False
    token = _render.set(render)
    try:
        with req.observe(blank=policy.mode == "force-static") as reads:
            render.reads = reads
            response = app.make_response(run_view())
    finally:
        _render.reset(token)
    if raw is not None:
        if raw.accessed:
            reads.add("session")
        raw.accessed = raw.accessed or accessed_before

    if reads and policy.mode == "error":
        raise StaticViewReadRequest(
            f"view {request.endpoint!r} is declared cache_view('error') but read the request "
            f"({', '.join(sorted(reads))}); declare it 'auto' or 'force-dynamic', "
            "or stop reading the request"
        )
    if (reads and (policy.mode == "auto" or "session" in reads)) or not _storable(response):
        request.environ[RESULT_ENVIRON] = "dynamic"
        return mark_dynamic(response)
    if render.versions is None:  # the view read no data
        render.versions = read_on(session.connection(), table, render.names)

    body = response.get_data()
    coding = choose(request.headers.get("Accept-Encoding"))
    entry = Entry(
        status=response.status_code,
        headers=[(k, v) for k, v in response.headers.items() if k.lower() not in _UNSTORED_HEADERS],
        body=body,
        etag=body_etag(body),
        stored_at=started,
        revalidate=policy.revalidate,
        versions=render.versions,
    )
    rule = request.url_rule.rule if request.url_rule is not None else None
    storing = store.available()
    if storing and not _claim(middleware, key, entry):
        # Another render stored this URL's entry since this one read its
        # versions, or a write changed them: this one is answered, never stored.
        request.environ[RESULT_ENVIRON] = "superseded"
        response.headers["ETag"] = entry.etag
        return mark_dynamic(response)
    # Holding the render lock, the backend took a write a moment ago: the
    # answer goes first, and its other encodings, its storing and the lock
    # (which the requests waiting for this render wait on) come after it.
    # Otherwise (the backend failed, or another render held the lock too
    # long) it is stored first, and answered dynamically if it cannot be.
    deferred = bool(request.environ.get(HOLDING_ENVIRON)) and storing
    if coding is not None and entry.compressible:
        entry.encoded[coding] = compress(body, coding)  # the one this client takes, now
    if not deferred and not _store(cache, key, entry, rule, holding=False):
        request.environ[RESULT_ENVIRON] = "failed"
        response.headers["ETag"] = entry.etag  # still the representation's ETag
        return mark_dynamic(response)
    request.environ[RESULT_ENVIRON] = "stored"
    now = store.clock()
    sent, coding = entry.body_for(coding)
    if etag_matches(request.headers.get("If-None-Match"), entry.etags()):
        response = Response(status=304)
    else:
        response.set_data(sent)
    for name, value in middleware.headers(entry, "MISS", now, coding):
        response.headers[name] = value
    if deferred:
        # From here the lock is the callback's to release, not the teardown's
        # (until here, an error leaves it to the teardown).
        request.environ.pop(HOLDING_ENVIRON, None)
        response.call_on_close(functools.partial(_store, cache, key, entry, rule, holding=True))
    return response


def _claim(middleware: CacheMiddleware, key: str, entry: Entry) -> bool:
    """Claim the next version of ``key``'s path for ``entry``, which then records it.

    One render of all those that read one version claims it (the database
    decides), so one generation is stored per change, and every worker's copy
    of the one before stops being current at once. It is claimed before the
    MISS is answered, so no client sees the older generation after this one.
    A regeneration claims only from the version of the stale entry it replaces.
    """
    name = path_name(key)
    seen = entry.versions[name]
    replacing = request.environ.get(REPLACES_ENVIRON)
    if replacing is not None and replacing != seen:
        return False
    if not middleware.claim(name, seen):
        return False
    entry.versions[name] = seen + 1
    return True


def _store(cache: BoundCache, key: str, entry: Entry, rule: str | None, *, holding: bool) -> bool:
    """Compress ``entry`` once in every encoding and store it; unlock ``key`` if ``holding``.

    Run after its MISS is sent when the render holds the lock: a client that
    takes no compression waits for none, and the requests waiting for this
    render (``CacheMiddleware._wait_or_render``) find the entry when the lock
    goes. If the backend refuses it then, the next request renders.
    """
    try:
        entry.encoded.update(encode_all(entry.body, made=entry.encoded))
        stored = cache.store.put(key, entry)
        if stored and rule is not None:
            cache.extension.count(rule, "miss")
        return stored
    finally:
        if holding:
            cache.store.release(key)


def _storable(response: Response) -> bool:
    return (
        response.status_code == 200
        and not response.is_streamed
        and "Set-Cookie" not in response.headers
        and not getattr(raw_session(), "modified", False)
    )


def mark_dynamic(response: Response) -> Response:
    """Label a response as never stored, by us or by anyone downstream."""
    response.headers["Cache-Control"] = DYNAMIC_CACHE_CONTROL
    response.headers.pop("X-Cache", None)
    return response


class SessionInterface(SecureCookieSessionInterface):
    """The cookie session, minus ``Vary: Cookie`` on responses that were stored.

    Flask adds ``Vary: Cookie`` whenever anything touched the session during
    the request (Flask-Login does, after every view). A stored response was
    made by a view that did not read the session, so it does not vary by
    cookie, and its MISS must carry the same headers as its HITs.
    """

    def save_session(self, app: Flask, session: SessionMixin, response: Response) -> None:
        if "X-Cache" in response.headers and not session.modified:
            session.accessed = False
        super().save_session(app, session, response)
