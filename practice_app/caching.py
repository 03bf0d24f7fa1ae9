"""How GET views are cached: Next.js's static and dynamic route handlers, in Flask.

Every GET view has a declaration, made with :func:`cache_view` (``auto`` when
it has none):

``auto``
    The view runs once and its response is stored, unless it read the request
    while it ran (query string, headers, cookies, session, body): then it is
    dynamic, runs on every request and is never stored. Reads are observed
    through :class:`TrackingRequest`, not guessed from the source.
``force-dynamic``
    Never stored.
``force-static``
    Stored; reads of the request see empty values.
``error``
    Stored; a read of the request is a programming error, raised as
    :class:`StaticViewReadRequest`.
``revalidate=N``
    Stored for N seconds; then the stale response is served once while one
    worker (one, across all workers, thanks to a lock) makes the next one.

A stored response is plain data (status, headers, body bytes, ETag, time)
under a key made of the URL path alone: a view that could give different
answers for different query strings read the request, so it is never stored.
Hits are served by :class:`CacheMiddleware` before Flask builds a request
context, so a hit skips routing, the session, the view and the database.

Services call :func:`invalidate_problem` after each commit. The backend is
shared by every worker (a directory in the instance folder, or Redis), so the
next request to any worker sees the change. If the backend fails, responses
are served dynamically and a warning is logged.
"""

from __future__ import annotations

import functools
import hashlib
import io
import logging
import os
import time
import warnings
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, TypeVar

from cachelib import FileSystemCache
from flask import Flask, Request, Response, current_app, request
from flask.globals import request_ctx
from flask.sessions import SecureCookieSessionInterface, SessionMixin
from flask_caching.backends.nullcache import NullCache
from werkzeug.datastructures import ETags, Headers, ImmutableMultiDict
from werkzeug.routing import BuildError

from .extensions import cache

log = logging.getLogger(__name__)

Mode = Literal["auto", "force-dynamic", "force-static", "error"]
MODES: tuple[str, ...] = ("auto", "force-dynamic", "force-static", "error")
STATIC_SECONDS = 31_536_000
DYNAMIC_CACHE_CONTROL = "private, no-cache, no-store, max-age=0, must-revalidate"
REGENERATE_FLAG = "practice.cache.regenerate"
# Bytes of response bodies each worker keeps in memory (see ResponseStore.get).
LOCAL_BODY_BYTES = 64 * 1024 * 1024
# Headers that belong to one response, not to the stored representation.
_UNSTORED_HEADERS = frozenset(
    {"set-cookie", "date", "server", "content-length", "x-cache", "age", "cache-control", "etag"}
)

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class CachePolicy:
    """A GET view's declaration: its mode, its revalidation period, what invalidates it."""

    mode: str = "auto"
    revalidate: int | None = None
    tags: tuple[str, ...] = ()

    def declaration(self) -> str:
        """The decorator call that declares this policy, e.g. ``cache_view(revalidate=300)``."""
        args = [repr(self.mode)] if self.mode != "auto" or not self.revalidate else []
        if self.revalidate:
            args.append(f"revalidate={self.revalidate}")
        if self.tags:
            args.append(f"tags={self.tags!r}")
        return f"cache_view({', '.join(args)})"

    def cache_control(self) -> str:
        seconds = self.revalidate or STATIC_SECONDS
        return f"public, s-maxage={seconds}, stale-while-revalidate"


AUTO = CachePolicy()


def cache_view(
    mode: Mode = "auto", *, revalidate: int | None = None, tags: Iterable[str] = ()
) -> Callable[[F], F]:
    """Declare how a GET view is cached (``dynamic`` and ``revalidate`` in Next.js).

    ``tags`` name what the response shows; ``"problems"`` means any problem,
    so a mutation of problem 7 drops this view's entry (built with
    ``problem_id=7`` when its URL takes one).
    """
    if mode not in MODES:
        raise ValueError(f"cache mode must be one of {MODES}, not {mode!r}")
    if revalidate is not None and (revalidate <= 0 or mode == "force-dynamic"):
        raise ValueError("revalidate takes a positive number of seconds, and not force-dynamic")
    policy = CachePolicy(mode, revalidate, tuple(tags))

    def declare(view: F) -> F:
        view.cache_policy = policy  # type: ignore[attr-defined]
        return view

    return declare


class StaticViewReadRequest(RuntimeError):
    """A view declared ``error`` (static, reads are errors) read the request."""


# -- observing reads of the request ------------------------------------------------


class _Watched:
    """A request attribute whose reads are recorded while a view runs.

    Plain attributes that Werkzeug sets in ``__init__`` (``headers``,
    ``query_string``, ``remote_addr``) are kept under a private name; the
    others delegate to the property of the base class.
    """

    def __init__(self, blank: Callable[[Any], Any]) -> None:
        self.blank = blank
        self.name = ""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name
        self.private = f"_watched_{name}"

    def _base(self, owner: type) -> Any:
        for klass in owner.__mro__[1:]:
            if self.name in klass.__dict__:
                return klass.__dict__[self.name]
        return None

    def __get__(self, obj: Any, owner: type | None = None) -> Any:
        if obj is None:
            return self
        state = obj.__dict__
        reads = state.get("_cache_reads")
        if reads is not None:
            reads.add(self.name)
            if state.get("_cache_blank"):
                return self.blank(obj)
        if self.private in state:
            return state[self.private]
        base = self._base(type(obj))
        if base is None:
            raise AttributeError(self.name)
        return base.__get__(obj, type(obj))

    def __set__(self, obj: Any, value: Any) -> None:
        base = self._base(type(obj))
        if base is not None and hasattr(base, "__set__"):
            base.__set__(obj, value)
        else:
            obj.__dict__[self.private] = value


def _empty_multidict(_request: Any) -> ImmutableMultiDict[str, str]:
    return ImmutableMultiDict()


class TrackingRequest(Request):
    """Flask's request, recording which parts of it a view reads (see :func:`observe`)."""

    headers = _Watched(lambda _r: Headers())
    query_string = _Watched(lambda _r: b"")
    remote_addr = _Watched(lambda _r: None)
    args = _Watched(_empty_multidict)
    cookies = _Watched(_empty_multidict)
    form = _Watched(_empty_multidict)
    files = _Watched(_empty_multidict)
    values = _Watched(_empty_multidict)
    data = _Watched(lambda _r: b"")
    json = _Watched(lambda _r: None)
    stream = _Watched(lambda _r: io.BytesIO())
    authorization = _Watched(lambda _r: None)
    user_agent = _Watched(lambda r: Request.user_agent_class(""))
    access_route = _Watched(lambda _r: [])
    url = _Watched(lambda r: r.base_url)
    full_path = _Watched(lambda r: r.path + "?")
    if_none_match = _Watched(lambda _r: ETags())

    def get_data(self, *args: Any, **kwargs: Any) -> Any:
        if self.__dict__.get("_cache_reads") is not None:
            self.__dict__["_cache_reads"].add("body")
            if self.__dict__.get("_cache_blank"):
                return "" if kwargs.get("as_text") else b""
        return super().get_data(*args, **kwargs)

    def get_json(self, *args: Any, **kwargs: Any) -> Any:
        if self.__dict__.get("_cache_reads") is not None:
            self.__dict__["_cache_reads"].add("body")
            if self.__dict__.get("_cache_blank"):
                return None
        return super().get_json(*args, **kwargs)

    @contextmanager
    def observe(self, blank: bool) -> Iterator[set[str]]:
        """Record the parts of the request read inside the block; ``blank`` hides them."""
        reads: set[str] = set()
        self.__dict__["_cache_reads"] = reads
        self.__dict__["_cache_blank"] = blank
        try:
            yield reads
        finally:
            self.__dict__["_cache_reads"] = None
            self.__dict__["_cache_blank"] = False


# -- the shared store ----------------------------------------------------------------


@dataclass
class Entry:
    """A stored response: plain data, never an ORM object."""

    status: int
    headers: list[tuple[str, str]]
    body: bytes
    etag: str
    stored_at: float
    revalidate: int | None

    def age(self, now: float) -> int:
        return max(0, int(now - self.stored_at))

    def is_fresh(self, now: float) -> bool:
        return self.revalidate is None or now - self.stored_at < self.revalidate

    def cache_control(self) -> str:
        return CachePolicy(revalidate=self.revalidate).cache_control()


class ResponseStore:
    """Stored responses in the Flask-Caching backend, with locks and invalidation stamps.

    Every backend error is logged as a warning (at most once a minute) and
    treated as a miss, so a broken cache makes the app dynamic, not broken.
    """

    def __init__(
        self,
        backend: Any,
        clock: Callable[[], float],
        lock_seconds: int,
        cache_dir: Path | None,
        version: str = "",
    ) -> None:
        self.backend = backend
        # Heads are filed under the code's version: a deploy starts with none,
        # as a Next.js build does, and never serves what the old code rendered.
        self.head_prefix = f"view:{version}:"
        self.cache_dir = cache_dir
        lock_dir = None if cache_dir is None else cache_dir.with_name(cache_dir.name + ".locks")
        self.clock = clock
        self.lock_seconds = lock_seconds
        self.lock_dir = lock_dir
        self._last_warning = 0.0
        self._bodies: dict[str, bytes] = {}
        self._kept_bytes = 0
        # NullCache stands in when the configured backend could not be created.
        self.enabled = not isinstance(backend, NullCache)

    def _warn(self, action: str, exc: BaseException) -> None:
        now = time.monotonic()
        if now - self._last_warning > 60 or not self._last_warning:
            self._last_warning = now
            log.warning("cache %s failed, serving dynamically: %r", action, exc)

    def get(self, key: str) -> Entry | None:
        """Return the stored response of ``key``, or None.

        An entry is stored in two parts: a small head (status, headers, ETag,
        time) under the key, and the body under its ETag, which is a hash of
        it. Each worker keeps the bodies it has read, so a hit reads only the
        small head from the shared backend, which is what makes it see an
        invalidation by any other worker at once.
        """
        if not self.enabled:
            return None
        try:
            if self.cache_dir is not None and not os.access(self.cache_dir, os.W_OK):
                # Reads would still work, but invalidations would be lost.
                raise OSError(f"{self.cache_dir} is not writable")
            head = self.backend.get(self._head_key(key))
            if not isinstance(head, dict):
                return None
            body = self._bodies.get(head["etag"])
            if body is None:
                body = self.backend.get("body:" + head["etag"])
                if not isinstance(body, bytes):
                    return None
                self._keep(head["etag"], body)
            return Entry(body=body, **head)
        except Exception as exc:
            self._warn("read", exc)
            return None

    def _head_key(self, key: str) -> str:
        return self.head_prefix + key

    def _keep(self, etag: str, body: bytes) -> None:
        self._bodies[etag] = body
        self._kept_bytes += len(body)
        while self._kept_bytes > LOCAL_BODY_BYTES and len(self._bodies) > 1:
            oldest = next(iter(self._bodies))
            self._kept_bytes -= len(self._bodies.pop(oldest))

    def put(self, key: str, entry: Entry, render_started: float) -> bool:
        """Store ``entry`` unless ``key`` was invalidated after its render started."""
        if not self.enabled:
            return False
        head = {
            "status": entry.status,
            "headers": entry.headers,
            "etag": entry.etag,
            "stored_at": entry.stored_at,
            "revalidate": entry.revalidate,
        }
        try:
            previous = self.backend.get(self._head_key(key))
            if not self.backend.set("body:" + entry.etag, entry.body, timeout=0):
                raise OSError("the backend refused the body")
            if not self.backend.set(self._head_key(key), head, timeout=0):
                raise OSError("the backend refused the entry")
            # Checked after writing: an invalidation that raced with this render
            # either is seen here, or deleted the entry after it was written.
            stamp = self.backend.get("invalidated:" + key)
            if stamp is not None and stamp > render_started:
                self.backend.delete(self._head_key(key))
                return False
            if isinstance(previous, dict) and previous["etag"] != entry.etag:
                self.backend.delete("body:" + previous["etag"])
            return True
        except Exception as exc:
            self._warn("write", exc)
            return False

    def invalidate(self, key: str) -> None:
        """Drop ``key``'s entry and remember when, for renders still running."""
        try:
            previous = self.backend.get(self._head_key(key))
            if not self.backend.set("invalidated:" + key, self.clock(), timeout=0):
                raise OSError("the backend refused the invalidation stamp")
            if not self.backend.delete(self._head_key(key)):
                raise OSError("the backend could not delete the entry")
            if isinstance(previous, dict):
                self.backend.delete("body:" + previous["etag"])
        except Exception as exc:
            self._warn("invalidation", exc)

    def clear(self) -> None:
        self.backend.clear()

    def try_lock(self, key: str) -> bool:
        """Take the lock that lets one worker of all regenerate ``key``."""
        try:
            if self.lock_dir is None:
                return bool(self.backend.add("lock:" + key, 1, timeout=self.lock_seconds))
            self.lock_dir.mkdir(parents=True, exist_ok=True)
            path = self._lock_path(key)
            try:
                os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
                return True
            except FileExistsError:
                if time.time() - path.stat().st_mtime < self.lock_seconds:
                    return False
                path.unlink(missing_ok=True)  # left by a worker that died regenerating
                os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
                return True
        except Exception as exc:
            self._warn("lock", exc)
            return False

    def release(self, key: str) -> None:
        try:
            if self.lock_dir is None:
                self.backend.delete("lock:" + key)
            else:
                self._lock_path(key).unlink(missing_ok=True)
        except Exception as exc:
            self._warn("unlock", exc)

    def _lock_path(self, key: str) -> Path:
        assert self.lock_dir is not None
        return self.lock_dir / hashlib.sha256(key.encode("utf-8", "surrogateescape")).hexdigest()


def cache_key(environ: dict[str, Any]) -> str:
    """The key of a URL: its path alone (a stored view never read the query string)."""
    return str(environ.get("PATH_INFO") or "/")


def _etag_matches(header: str | None, etag: str) -> bool:
    if not header:
        return False
    candidates = {part.strip().removeprefix("W/") for part in header.split(",")}
    return "*" in candidates or etag in candidates


def _entry_headers(entry: Entry, state: str, now: float) -> list[tuple[str, str]]:
    return [
        *entry.headers,
        ("ETag", entry.etag),
        ("Cache-Control", entry.cache_control()),
        ("X-Cache", state),
        ("Age", str(entry.age(now))),
    ]


# -- the hit path: WSGI, before Flask ------------------------------------------------


class CacheMiddleware:
    """Serve stored responses before Flask runs; pass everything else to the app."""

    def __init__(self, wsgi_app: Callable[..., Any], store: ResponseStore) -> None:
        self.wsgi_app = wsgi_app
        self.store = store

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        method = environ.get("REQUEST_METHOD")
        if (method == "GET" or method == "HEAD") and REGENERATE_FLAG not in environ:
            key = cache_key(environ)
            entry = self.store.get(key)
            if entry is not None:
                now = self.store.clock()
                if entry.is_fresh(now):
                    return self._serve(environ, start_response, entry, "HIT", now)
                body = self._serve(environ, start_response, entry, "STALE", now)
                if self.store.try_lock(key):
                    return _OnClose(body, functools.partial(self._regenerate, environ, key))
                return body
        return self.wsgi_app(environ, start_response)

    def _serve(
        self,
        environ: dict[str, Any],
        start_response: Callable[..., Any],
        entry: Entry,
        state: str,
        now: float,
    ) -> list[bytes]:
        headers = _entry_headers(entry, state, now)
        if _etag_matches(environ.get("HTTP_IF_NONE_MATCH"), entry.etag):
            headers = [(k, v) for k, v in headers if k.lower() != "content-type"]
            start_response("304 Not Modified", headers)
            return []
        headers.append(("Content-Length", str(len(entry.body))))
        start_response(f"{entry.status} OK", headers)
        return [] if environ.get("REQUEST_METHOD") == "HEAD" else [entry.body]

    def _regenerate(self, environ: dict[str, Any], key: str) -> None:
        """Render ``key`` again after the stale response was sent, then unlock it."""
        fresh: dict[str, Any] = {
            name: environ[name]
            for name in (
                "SERVER_NAME",
                "SERVER_PORT",
                "SERVER_PROTOCOL",
                "SCRIPT_NAME",
                "PATH_INFO",
                "HTTP_HOST",
                "wsgi.url_scheme",
                "wsgi.version",
                "wsgi.errors",
                "wsgi.multithread",
                "wsgi.multiprocess",
                "wsgi.run_once",
            )
            if name in environ
        }
        fresh.update(
            {
                "REQUEST_METHOD": "GET",
                "QUERY_STRING": "",
                "wsgi.input": io.BytesIO(),
                REGENERATE_FLAG: True,
            }
        )
        try:
            result = self.wsgi_app(fresh, lambda *_args, **_kw: None)
            try:
                for _chunk in result:
                    pass
            finally:
                if hasattr(result, "close"):
                    result.close()
        except Exception:
            log.exception("regenerating %s failed", key)
        finally:
            self.store.release(key)


class _OnClose:
    """A WSGI body that runs ``callback`` once the server has sent it and closes it."""

    def __init__(self, body: list[bytes], callback: Callable[[], None]) -> None:
        self.body = body
        self.callback = callback

    def __iter__(self) -> Iterator[bytes]:
        return iter(self.body)

    def close(self) -> None:
        self.callback()


# -- the miss path: inside Flask -------------------------------------------------------


def policy_for(app: Flask, endpoint: str | None, method: str) -> CachePolicy | None:
    """Return the declaration of the view serving ``endpoint`` for ``method``.

    ``None`` means the view is left alone (static files, which do their own
    conditional requests).
    """
    if endpoint is None:
        return None
    if endpoint == "static" or endpoint.endswith(".static"):
        return None
    view = app.view_functions.get(endpoint)
    view_class = getattr(view, "view_class", None)
    handler: Any = view
    if view_class is not None:
        handler = getattr(view_class, method.lower(), None)
        if handler is None and method == "HEAD":
            handler = getattr(view_class, "get", None)
    if getattr(handler, "cache_exempt", False):
        return None
    return getattr(handler, "cache_policy", AUTO)


def dispatch(app: Flask, run_view: Callable[[], Any]) -> Response:
    """Run the matched view under its declaration (called by the app's dispatch_request)."""
    req = request._get_current_object()  # type: ignore[attr-defined]
    policy = policy_for(app, request.endpoint, request.method)
    if policy is None:
        return app.make_response(run_view())
    if request.method not in ("GET", "HEAD") or policy.mode == "force-dynamic":
        return mark_dynamic(app.make_response(run_view()))

    store = _store(app)
    started = store.clock()
    # Flask marks the session "accessed" whenever the proxy is touched; look at
    # the object itself so that only the view's own reads count.
    raw_session = _raw_session()
    accessed_before = bool(getattr(raw_session, "accessed", False))
    if raw_session is not None:
        raw_session.accessed = False
    with req.observe(blank=policy.mode == "force-static") as reads:
        response = app.make_response(run_view())
    if raw_session is not None:
        if raw_session.accessed:
            reads.add("session")
        raw_session.accessed = raw_session.accessed or accessed_before

    if reads and policy.mode == "error":
        raise StaticViewReadRequest(
            f"view {request.endpoint!r} is declared cache_view('error') but read the request "
            f"({', '.join(sorted(reads))}); declare it 'auto' or 'force-dynamic', "
            "or stop reading the request"
        )
    if reads and (policy.mode == "auto" or "session" in reads):
        return mark_dynamic(response)
    if not _storable(response):
        return mark_dynamic(response)

    body = response.get_data()
    entry = Entry(
        status=response.status_code,
        headers=[(k, v) for k, v in response.headers.items() if k.lower() not in _UNSTORED_HEADERS],
        body=body,
        etag='"' + hashlib.sha256(body).hexdigest()[:32] + '"',
        stored_at=started,
        revalidate=policy.revalidate,
    )
    key = cache_key(request.environ)
    if not store.put(key, entry, started):
        return mark_dynamic(response)
    now = store.clock()
    if _etag_matches(request.headers.get("If-None-Match"), entry.etag):
        not_modified = Response(status=304)
        for name, value in _entry_headers(entry, "MISS", now):
            not_modified.headers[name] = value
        return not_modified
    for name, value in _entry_headers(entry, "MISS", now):
        response.headers[name] = value
    return response


def _storable(response: Response) -> bool:
    return (
        response.status_code == 200
        and not response.is_streamed
        and "Set-Cookie" not in response.headers
        and not getattr(_raw_session(), "modified", False)
    )


def _raw_session() -> Any:
    return request_ctx._get_current_object()._session  # type: ignore[attr-defined]


def mark_dynamic(response: Response) -> Response:
    """Label a response as never stored, by us or by anyone downstream."""
    response.headers["Cache-Control"] = DYNAMIC_CACHE_CONTROL
    response.headers.pop("X-Cache", None)
    return response


# -- invalidation ---------------------------------------------------------------------


def invalidate_problem(problem_id: int) -> None:
    """Drop every stored response that shows problems: lists, counts and problem ``problem_id``."""
    invalidate_tag("problems", problem_id=problem_id)


def invalidate_tag(tag: str, **values: Any) -> None:
    """Drop the stored response of every view tagged ``tag``, its URL built from ``values``."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    store = _store(app)
    adapter = app.url_map.bind("localhost")
    for rule in app.url_map.iter_rules():
        policy = policy_for(app, rule.endpoint, "GET")
        if policy is None or tag not in policy.tags or "GET" not in (rule.methods or ()):
            continue
        if not rule.arguments <= values.keys():
            continue
        try:
            path = adapter.build(rule.endpoint, {k: values[k] for k in rule.arguments})
        except BuildError:
            continue
        store.invalidate(path)


def clear() -> None:
    """Drop every stored response."""
    _store(current_app).clear()


def _store(app: Flask) -> ResponseStore:
    return app.extensions["practice_cache"]


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


def code_version() -> str:
    """Hash the package's code, templates and static files: what rendered a stored response."""
    digest = hashlib.sha256()
    package = Path(__file__).resolve().parent
    for path in sorted(package.rglob("*")):
        if path.suffix in {".py", ".html", ".json", ".js", ".css"} and path.is_file():
            digest.update(str(path.relative_to(package)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def init_app(app: Flask) -> None:
    """Bind Flask-Caching, create the shared store and put the hit path in front of the app.

    A backend that cannot even be created (say, the cache directory is a file)
    is replaced by Flask-Caching's NullCache: every view is then served
    dynamically, and a warning says why.
    """
    try:
        cache.init_app(app)
    except OSError as exc:
        log.warning("cache backend unavailable, serving dynamically: %r", exc)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # "caching is effectively disabled"
            cache.init_app(app, config={**app.config, "CACHE_TYPE": "NullCache"})
    backend = app.extensions["cache"][cache]
    cache_dir = Path(app.config["CACHE_DIR"]) if isinstance(backend, FileSystemCache) else None
    clock = app.config.get("CACHE_CLOCK") or time.time
    lock_seconds = int(app.config["CACHE_REGENERATE_LOCK_SECONDS"])
    version = app.config.get("CACHE_VERSION") or code_version()
    store = ResponseStore(backend, clock, lock_seconds, cache_dir, version)
    app.extensions["practice_cache"] = store
    app.session_interface = SessionInterface()
    app.wsgi_app = CacheMiddleware(app.wsgi_app, store)  # type: ignore[method-assign]
