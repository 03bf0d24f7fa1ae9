"""How GET views are cached: Next.js's static and dynamic route handlers, in Flask.

One module a job:

``policy``
    The declaration a view makes with :func:`cache_view` (``auto`` when it
    has none): ``auto`` (stored unless the view read the request),
    ``force-dynamic``, ``force-static``, ``error``, ``revalidate=N``, and
    ``tags``; and the ``Cache-Control`` of what is stored.
``tracking``
    :class:`TrackingRequest`, which records what a view reads of the request.
``versions``
    The database's versions of paths and tags: a write bumps them in its own
    transaction, a stored response is served only while they are unchanged.
``store``
    The shared store (a directory of the instance folder, or Redis): heads,
    bodies, the regeneration lock; every failure is a miss.
``middleware``
    The hit path, before Flask: canonical URLs, version check, 304s, STALE
    and its regeneration after the response is sent.
``render``
    The miss path, inside Flask: run the view, observe it, store the result.
``invalidation``
    What services call before they commit.
``wsgi``
    Plain WSGI helpers: a GET made inside the app, a body closed as a server does.
``adapter``
    The only reaches into Flask's private attributes.
"""

from __future__ import annotations

import hashlib
import logging
import time
import warnings
from pathlib import Path

from cachelib import FileSystemCache
from flask import Flask, request
from redis.backoff import NoBackoff
from redis.retry import Retry

from ..extensions import cache, db
from .invalidation import (
    clear,
    declared_tags,
    invalidate_all,
    invalidate_problem,
    invalidate_tag,
    listen_for_commits,
    revalidate,
)
from .middleware import CacheMiddleware, resolve
from .policy import (
    DYNAMIC_CACHE_CONTROL,
    SHARED_CACHE_CONTROL,
    CachePolicy,
    StaticViewReadRequest,
    cache_view,
    check_revalidate_overrides,
    policy_for,
    shared_cache_control,
)
from .render import SessionInterface, dispatch, listen_for_renders, mark_dynamic
from .store import Entry, ResponseStore, body_etag
from .tracking import TrackingRequest
from .versions import VersionReader
from .wsgi import SubResponse, subrequest

__all__ = [
    "DYNAMIC_CACHE_CONTROL",
    "SHARED_CACHE_CONTROL",
    "CacheMiddleware",
    "CachePolicy",
    "Entry",
    "ResponseStore",
    "StaticViewReadRequest",
    "SubResponse",
    "TrackingRequest",
    "body_etag",
    "cache_view",
    "clear",
    "code_version",
    "declared_tags",
    "dispatch",
    "init_app",
    "invalidate_all",
    "invalidate_problem",
    "invalidate_tag",
    "mark_dynamic",
    "policy_for",
    "resolve",
    "revalidate",
    "shared_cache_control",
    "subrequest",
]

log = logging.getLogger(__name__)


def code_version() -> str:
    """Hash the package's code, templates and static files: what rendered a stored response."""
    digest = hashlib.sha256()
    package = Path(__file__).resolve().parent.parent
    for path in sorted(package.rglob("*")):
        if path.suffix in {".py", ".html", ".json", ".js", ".css"} and path.is_file():
            digest.update(str(path.relative_to(package)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def _backend_config(app: Flask) -> dict[str, object]:
    """Flask-Caching's settings, with short Redis timeouts and no retries unless configured.

    A stopped or paused Redis must cost a request a fraction of a second, and
    the store then leaves it alone for ``CACHE_RETRY_SECONDS``.
    """
    config = dict(app.config)
    if config.get("CACHE_TYPE") in ("RedisCache", "redis", "flask_caching.backends.RedisCache"):
        seconds = float(app.config["CACHE_REDIS_TIMEOUT_SECONDS"])
        options = {
            "socket_timeout": seconds,
            "socket_connect_timeout": seconds,
            "retry": Retry(NoBackoff(), 0),
        }
        config["CACHE_OPTIONS"] = {**options, **(config.get("CACHE_OPTIONS") or {})}
    return config


def init_app(app: Flask) -> None:
    """Bind Flask-Caching, create the shared store and put the hit path in front of the app.

    A backend that cannot even be created (say, the cache directory is a file)
    is replaced by Flask-Caching's NullCache: every view is then served
    dynamically, and a warning says why.
    """
    check_revalidate_overrides(app)
    try:
        cache.init_app(app, config=_backend_config(app))
    except OSError as exc:
        log.warning("cache backend unavailable, serving dynamically: %r", exc)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # "caching is effectively disabled"
            cache.init_app(app, config={**app.config, "CACHE_TYPE": "NullCache"})
    backend = app.extensions["cache"][cache]
    cache_dir = Path(app.config["CACHE_DIR"]) if isinstance(backend, FileSystemCache) else None
    store = ResponseStore(
        backend,
        clock=app.config.get("CACHE_CLOCK") or time.time,
        lock_seconds=int(app.config["CACHE_REGENERATE_LOCK_SECONDS"]),
        cache_dir=cache_dir,
        version=app.config.get("CACHE_VERSION") or code_version(),
        entry_seconds=int(app.config["CACHE_ENTRY_SECONDS"]),
        retry_seconds=float(app.config["CACHE_RETRY_SECONDS"]),
    )
    with app.app_context():
        versions = VersionReader(db.engine)
    shared_max_age = app.config.get("CACHE_SHARED_MAX_AGE")
    middleware = CacheMiddleware(
        app,
        app.wsgi_app,
        store,
        versions,
        int(shared_max_age) if shared_max_age else None,
        render_wait=float(app.config["CACHE_RENDER_WAIT_SECONDS"]),
    )
    app.extensions["practice_cache"] = store
    app.extensions["practice_cache_middleware"] = middleware

    @app.teardown_request
    def release_render(_error: BaseException | None) -> None:
        middleware.rendered(request.environ)

    app.session_interface = SessionInterface()
    # SQLAlchemy's Session events, registered once per process whatever the apps.
    listen_for_renders()
    listen_for_commits()
    app.wsgi_app = middleware  # type: ignore[method-assign]
