"""The hit path: a WSGI middleware that serves stored responses before Flask runs.

For a GET or HEAD it finds the view the URL routes to and its *canonical*
URL, built back from the matched rule and its converted values: every
spelling that reaches a view (``//api/problems``, ``/api/problems/037``)
has one key, and a spelling that is not the canonical one is redirected
(308) to it, so inventing URLs cannot grow the store. A stored entry is
served only while the database holds the versions it was rendered under.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from flask import Flask
from werkzeug.exceptions import HTTPException
from werkzeug.http import parse_etags, unquote_etag
from werkzeug.wsgi import get_path_info

from .compression import add_vary, choose, variant_etag
from .policy import policy_for, shared_cache_control
from .store import Entry, Fixed, ResponseStore
from .versions import VersionReader, is_current, path_name
from .wsgi import OnClose, closing, inner_environ

log = logging.getLogger(__name__)

# Set in the environ of a GET or HEAD routed to a declared view: the URL rule it
# matched (for an app's metrics, whether the cache or Flask answers it).
ROUTE_ENVIRON = "route_cache.rule"
# Set in the environ of a GET or HEAD routed to a cached view: its key.
KEY_ENVIRON = "route_cache.key"
# Set in the environ of the render that refreshes a stale entry.
REGENERATE_ENVIRON = "route_cache.regenerate"
# Set with it: the path version of the stale entry it replaces (see render._claim).
REPLACES_ENVIRON = "route_cache.replaces"
# Spellings of URLs whose routing each worker remembers.
TARGETS_KEPT = 1024
# Set by the miss path: it stored its response ("stored"), could not ("failed"),
# another render's entry or a write came first ("superseded"), or the view
# answered what is never stored ("dynamic": it read the request, or answered a
# 404). An error leaves it unset.
RESULT_ENVIRON = "route_cache.result"
# Set in the environ of a miss whose request holds the render lock.
HOLDING_ENVIRON = "route_cache.holding"
# How long a worker remembers that a URL's view answered dynamically (it
# read the request, or answered what is never stored, like a 404): it then
# goes straight to Flask, without looking for an entry or waiting for a render.
DYNAMIC_SECONDS = 30.0
# How often a request waiting for another's render looks for its entry.
WAIT_POLL_SECONDS = 0.01


@dataclass(frozen=True)
class Target:
    """Where a GET to a declared view goes: its canonical path."""

    key: str  # the canonical path within the app: the cache key
    location: str  # the canonical URL path as sent (script root included, quoted)
    canonical: bool  # whether the request spelled it that way
    rule: str  # the URL rule it matched (the metrics' route)
    dynamic: bool  # declared force-dynamic: never stored, so never looked for


def resolve(app: Flask, environ: dict[str, Any]) -> Target | None:
    """Route a GET or HEAD as Flask will; None when no declared view would serve it."""
    adapter = app.url_map.bind_to_environ(environ)
    try:
        rule, values = adapter.match(return_rule=True, method="GET")
    except HTTPException:  # 404, 405, or Werkzeug's own redirect: Flask answers those
        return None
    policy = policy_for(app, rule.endpoint, "GET")
    if policy is None:
        return None
    location = adapter.build(rule.endpoint, values, method="GET")
    key = app.url_map.bind("localhost").build(rule.endpoint, values, method="GET")
    script_name = environ.get("SCRIPT_NAME", "").rstrip("/")
    spelled = script_name + get_path_info(environ)
    dynamic = policy.mode == "force-dynamic"
    return Target(key, location, unquote(location) == spelled, rule.rule, dynamic)


class CacheMiddleware:
    """Serve stored responses before Flask runs; pass everything else to the app."""

    def __init__(
        self,
        app: Flask,
        wsgi_app: Callable[..., Any],
        store: ResponseStore,
        versions: VersionReader,
        shared_max_age: int | None,
        render_wait: float = 2.0,
        count: Callable[[str, str], None] = lambda _rule, _result: None,
    ) -> None:
        self.app = app
        self.wsgi_app = wsgi_app
        self.store = store
        self.versions = versions
        self.shared_max_age = shared_max_age
        self.render_wait = render_wait
        self.count = count  # called with the URL rule and hit, stale or miss
        # Keys whose view answered dynamically a moment ago, until when (monotonic).
        self._dynamic: dict[str, float] = {}
        # Where recent spellings route: most requests repeat a few URLs, and
        # routing then building back is most of a hit's time. Flask adds no
        # route once it has served a request, so an answer stays true; the
        # number kept is bounded, so invented spellings only push older ones out.
        self._targets: OrderedDict[tuple[str, str], Target | None] = OrderedDict()
        self._targets_lock = threading.Lock()

    def target(self, environ: dict[str, Any]) -> Target | None:
        """``resolve``, remembered for the last TARGETS_KEPT spellings."""
        spelling = (environ.get("SCRIPT_NAME", ""), environ.get("PATH_INFO", ""))
        try:
            return self._targets[spelling]
        except KeyError:
            pass
        found = resolve(self.app, environ)
        with self._targets_lock:
            self._targets[spelling] = found
            while len(self._targets) > TARGETS_KEPT:
                self._targets.popitem(last=False)
        return found

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        method = environ.get("REQUEST_METHOD")
        if method not in ("GET", "HEAD") or REGENERATE_ENVIRON in environ:
            return self.wsgi_app(environ, start_response)
        target = self.target(environ)
        if target is None:
            return self.wsgi_app(environ, start_response)
        environ[ROUTE_ENVIRON] = target.rule
        if not target.canonical:
            return _redirect(environ, start_response, target.location)
        environ[KEY_ENVIRON] = target.key
        if target.dynamic or self._dynamic.get(target.key, 0.0) > time.monotonic():
            return self.wsgi_app(environ, start_response)
        entry = self.current_entry(target.key)
        if entry is None:
            entry, holding = self._wait_or_render(target.key)
            if entry is None:
                return self._render(environ, start_response, target.key, holding)
        now = self.store.clock()
        if entry.is_fresh(now):
            self.count(target.rule, "hit")
            return self._serve(environ, start_response, entry, "HIT", now)
        self.count(target.rule, "stale")
        body = self._serve(environ, start_response, entry, "STALE", now)
        if self.store.try_lock(target.key):
            regenerate = functools.partial(self._regenerate, environ, target.key, entry)
            return OnClose(body, regenerate)
        return body

    def _wait_or_render(self, key: str) -> tuple[Entry | None, bool]:
        """After a miss, let one request of all render ``key``; give its entry to the others.

        Returns the entry another request rendered, or None and whether this
        one holds the render lock (the regeneration lock of STALE entries).
        The others look for the entry every few milliseconds, for
        ``render_wait`` seconds at most, and render themselves if none comes
        (a slow render, a dynamic view, a render that failed). With the
        backend down, nobody waits.
        """
        deadline = time.monotonic() + self.render_wait
        while True:
            locked = self.store.lock(key)
            if locked is None:
                return None, False
            if locked:
                # Another request may have stored it between this one's look
                # and its lock (and released the lock): then answer with that.
                entry = self.current_entry(key)
                if entry is not None:
                    self.store.release(key)
                    return entry, False
                return None, True
            if time.monotonic() >= deadline:
                return None, False
            time.sleep(WAIT_POLL_SECONDS)
            entry = self.current_entry(key)
            if entry is not None:
                return entry, False

    def _render(
        self,
        environ: dict[str, Any],
        start_response: Callable[..., Any],
        key: str,
        holding: bool,
    ) -> Any:
        """Pass a miss to Flask, which calls :meth:`rendered` when it is done with it."""
        if holding:
            environ[HOLDING_ENVIRON] = True
        return self.wsgi_app(environ, start_response)

    def rendered(self, environ: dict[str, Any]) -> None:
        """After Flask answered a miss (its teardown): release the render lock, note a dynamic view.

        This runs when the request's context ends, before the body is sent,
        so the requests waiting for this render get its entry at once.
        """
        key = environ.get(KEY_ENVIRON)
        if key is None or REGENERATE_ENVIRON in environ:
            return
        if environ.pop(HOLDING_ENVIRON, False):
            self.store.release(key)
        result = environ.get(RESULT_ENVIRON)
        if result == "stored":
            self._dynamic.pop(key, None)
        elif result == "dynamic":
            now = time.monotonic()
            self._dynamic[key] = now + DYNAMIC_SECONDS
            if len(self._dynamic) > TARGETS_KEPT:
                for stale in [k for k, until in list(self._dynamic.items()) if until <= now]:
                    self._dynamic.pop(stale, None)

    def current_entry(self, key: str) -> Entry | None:
        """The stored entry of ``key`` if the database still holds its versions.

        The entry this worker last saw for ``key`` is tried first: when the
        database still holds its versions (and it has not expired), the hit
        costs one indexed query and no read of the shared backend. Otherwise
        the shared copy, which another worker may have made since.
        """
        recent = self.store.recent(key)
        now: dict[str, int] | None = None
        if recent is not None and recent.versions and recent.is_fresh(self.store.clock()):
            now = self._versions(recent.versions)
            if now is None:
                return None
            if is_current(recent.versions, now):
                return recent
        entry = self.store.get(key)
        if entry is None or not entry.versions:
            return None
        if now is None:  # else read for the same key, so for the same names
            now = self._versions(entry.versions)
        return entry if now is not None and is_current(entry.versions, now) else None

    def claim(self, name: str, seen: int) -> bool:
        """``VersionReader.claim``; False when the database cannot say (nothing is stored then)."""
        try:
            return self.versions.claim(name, seen)
        except Exception:
            log.warning("claiming %s failed; the render is not stored", name, exc_info=True)
            return False

    def _versions(self, recorded: dict[str, int]) -> dict[str, int] | None:
        return self.current_versions(list(recorded))

    def current_versions(self, names: list[str] | tuple[str, ...]) -> dict[str, int] | None:
        """The versions the database holds now (this thread's own connection); None if it fails."""
        try:
            return self.versions.read(names)
        except Exception:
            log.debug("reading cache versions failed; the app will answer", exc_info=True)
            return None

    def headers(
        self, entry: Entry, state: str, now: float, coding: str | None
    ) -> list[tuple[str, str]]:
        """The headers of ``entry`` served as ``state`` (MISS, HIT or STALE) in ``coding``."""
        before, after = self._fixed_headers(entry, coding)
        return [*before, ("X-Cache", state), ("Age", str(entry.age(now))), *after]

    def _fixed_headers(self, entry: Entry, coding: str | None) -> Fixed:
        """What every answer of ``entry`` in ``coding`` sends but its state and age: made once.

        An entry is a worker's for as long as it is current, and a hit is
        mostly this list; so it is kept on the entry, by encoding.
        """
        fixed = entry.wire.get(coding)
        if fixed is None:
            before = (
                *entry.headers,
                ("ETag", variant_etag(entry.etag, coding)),
                ("Cache-Control", shared_cache_control(entry.revalidate, self.shared_max_age)),
            )
            after: list[tuple[str, str]] = []
            if entry.compressible:
                add_vary(after)
            if coding is not None:
                after.append(("Content-Encoding", coding))
            fixed = entry.wire.setdefault(coding, (before, tuple(after)))
        return fixed

    def _serve(
        self,
        environ: dict[str, Any],
        start_response: Callable[..., Any],
        entry: Entry,
        state: str,
        now: float,
    ) -> list[bytes]:
        body, coding = entry.body_for(choose(environ.get("HTTP_ACCEPT_ENCODING")))
        headers = self.headers(entry, state, now, coding)
        if_none_match = environ.get("HTTP_IF_NONE_MATCH")
        if if_none_match and etag_matches(if_none_match, entry.etags()):
            headers = [(k, v) for k, v in headers if k.lower() != "content-type"]
            start_response("304 Not Modified", headers)
            return []
        headers.append(("Content-Length", str(len(body))))
        start_response(f"{entry.status} OK", headers)
        return [] if environ.get("REQUEST_METHOD") == "HEAD" else [body]

    def _regenerate(self, environ: dict[str, Any], key: str, stale: Entry) -> None:
        """Render ``key`` again after ``stale`` was sent, then unlock it.

        Unless another worker replaced ``stale`` between this one's look and
        its lock (the lock is free again once that worker stored its entry):
        then the entry the database now vouches for is not ``stale``'s, and
        there is nothing to do. The render itself stores only if it claims
        the version after ``stale``'s (``render._claim``).
        """
        fresh = inner_environ(environ, key)
        fresh[REGENERATE_ENVIRON] = True
        fresh[KEY_ENVIRON] = key
        fresh[REPLACES_ENVIRON] = stale.versions.get(path_name(key), 0)
        try:
            now = self._versions(stale.versions)
            if now is None or not is_current(stale.versions, now):
                return
            for _chunk in closing(self.wsgi_app(fresh, lambda *_args, **_kw: None)):
                pass
        except Exception:
            log.exception("regenerating %s failed", key)
        finally:
            self.store.release(key)


def etag_matches(header: str | None, etags: tuple[str, ...]) -> bool:
    """Tell whether an ``If-None-Match`` header names one of ``etags`` (weakly) or is ``*``."""
    if not header:
        return False
    named = parse_etags(header)
    return any(named.contains_weak(unquote_etag(etag)[0]) for etag in etags)


def _redirect(
    environ: dict[str, Any], start_response: Callable[..., Any], location: str
) -> list[bytes]:
    query = environ.get("QUERY_STRING", "")
    if query and query.isprintable():
        location += "?" + query
    start_response(
        "308 Permanent Redirect",
        [("Location", location), ("Content-Length", "0"), ("Cache-Control", "no-cache")],
    )
    return []
