"""The extension object: what the cache is given, and how it is bound to an app.

``RouteCache(db=db, cache=cache)`` takes the app's Flask-SQLAlchemy object
(its database keeps the versions, in a table this extension adds to its
metadata) and a Flask-Caching ``Cache`` (its backend keeps the stored
responses); ``init_app`` binds them and puts the hit path in front of the
app. Nothing else of the app is needed: two optional hooks let an app count
the cache's results (``count``) and make the version claims take the app's
turn to write (``write_turn``).
"""

from __future__ import annotations

import hashlib
import logging
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cachelib import FileSystemCache
from flask import Flask, Response, request
from flask_caching import Cache
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import Table

from . import adapter
from .data import DATA_ENVIRON, DATA_HEADER
from .invalidation import listen_for_commits
from .middleware import CacheMiddleware
from .policy import check_revalidate_overrides
from .render import SessionInterface, dispatch, listen_for_renders
from .schema import version_table
from .state import EXTENSION, BoundCache
from .store import ResponseStore
from .tracking import observe_requests
from .versions import VersionReader, WriteTurn, no_turn

log = logging.getLogger(__name__)

# The settings the extension reads, with their defaults (``app.config`` wins).
DEFAULTS: dict[str, Any] = {
    # Seconds a stored entry lives in the backend, unless a write drops it first (0: no limit).
    "CACHE_ENTRY_SECONDS": 86_400,
    # Seconds the backend is left alone after it failed (each failure is a miss).
    "CACHE_RETRY_SECONDS": 1.0,
    # Socket timeouts of a Redis backend: a stopped Redis costs a request this, once.
    "CACHE_REDIS_TIMEOUT_SECONDS": 0.25,
    # Let proxies and CDNs serve stored responses this long (None: they ask each time).
    "CACHE_SHARED_MAX_AGE": None,
    # What rendered the stored responses (None: a hash of the app's package).
    "CACHE_VERSION": None,
    # Seconds a render lock outlives a worker that died holding it.
    "CACHE_REGENERATE_LOCK_SECONDS": 30,
    # Revalidate periods by endpoint, over the views' own (``{"api.stats": 60}``).
    "CACHE_REVALIDATE": {},
    # Seconds a request waits for another's render of the same URL before its own.
    "CACHE_RENDER_WAIT_SECONDS": 2.0,
    # Results each ``cache_data`` function keeps at most (a slot each, by a hash of its arguments).
    "CACHE_DATA_SLOTS": 10_000,
    # The clock of entries' ages (None: time.time; tests inject one).
    "CACHE_CLOCK": None,
}

# The counting hook: called with the URL rule and the result (hit, stale, miss, invalidated).
Count = Callable[[str, str], None]


def count_nothing(_rule: str, _result: str) -> None:
    """The default :data:`Count`: results are not counted."""


class RouteCache:
    """Next.js's full route cache for Flask: GET views stored unless they read the request.

    Views declare how they are cached with :func:`cache_view`; writes call
    :func:`invalidate_tag` or :func:`revalidate` inside their transaction.
    Bind it after the app's views are registered (it reads their declarations).
    """

    def __init__(
        self,
        app: Flask | None = None,
        *,
        db: SQLAlchemy,
        cache: Cache,
        count: Count = count_nothing,
        write_turn: WriteTurn = no_turn,
    ) -> None:
        self.db = db
        self.cache = cache
        self.count = count
        self.write_turn = write_turn
        self.table: Table = version_table(db.metadata)
        if app is not None:
            self.init_app(app)

    def init_app(self, app: Flask) -> None:
        """Bind the backend, route the app's views through the cache, put the hit path in front.

        A backend that cannot even be created (say, the cache directory is a
        file) is replaced by Flask-Caching's NullCache: every view is then
        served dynamically, and a warning says why.
        """
        for key, value in DEFAULTS.items():
            app.config.setdefault(key, value)
        check_revalidate_overrides(app)
        backend = self._bind_backend(app)
        store = ResponseStore(
            backend,
            clock=app.config["CACHE_CLOCK"] or time.time,
            lock_seconds=int(app.config["CACHE_REGENERATE_LOCK_SECONDS"]),
            cache_dir=_cache_dir(app, backend),
            version=app.config["CACHE_VERSION"] or code_version(app),
            entry_seconds=int(app.config["CACHE_ENTRY_SECONDS"]),
            retry_seconds=float(app.config["CACHE_RETRY_SECONDS"]),
        )
        with app.app_context():
            versions = VersionReader(self.db.engine, self.table, self.write_turn)
        shared_max_age = app.config["CACHE_SHARED_MAX_AGE"]
        middleware = CacheMiddleware(
            app,
            app.wsgi_app,
            store,
            versions,
            int(shared_max_age) if shared_max_age else None,
            render_wait=float(app.config["CACHE_RENDER_WAIT_SECONDS"]),
            count=self.count,
        )
        data_slots = int(app.config["CACHE_DATA_SLOTS"])
        app.extensions[EXTENSION] = BoundCache(self, store, middleware, data_slots)

        @app.after_request
        def say_data_cache(response: Response) -> Response:
            # What the view's reads through ``cache_data`` were: all kept (HIT), or any read (MISS).
            state = request.environ.get(DATA_ENVIRON)
            if state is not None:
                response.headers[DATA_HEADER] = state
            return response

        @app.teardown_request
        def release_render(_error: BaseException | None) -> None:
            middleware.rendered(request.environ)

        observe_requests(app)
        adapter.run_views_through(app, dispatch)
        app.session_interface = SessionInterface()
        # SQLAlchemy's Session events, registered once per process whatever the apps.
        listen_for_renders()
        listen_for_commits()
        app.wsgi_app = middleware  # type: ignore[method-assign]

    def _bind_backend(self, app: Flask) -> Any:
        try:
            self.cache.init_app(app, config=_backend_config(app))
        except OSError as exc:
            log.warning("cache backend unavailable, serving dynamically: %r", exc)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)  # "caching is effectively disabled"
                self.cache.init_app(app, config={**app.config, "CACHE_TYPE": "NullCache"})
        return app.extensions["cache"][self.cache]


def code_version(app: Flask) -> str:
    """Hash the app package's code, templates and static files: what rendered a stored response.

    Heads are filed under it, so a deploy of other code starts with none, as
    a Next.js build does, and never serves what the old code rendered.
    """
    digest = hashlib.sha256()
    package = Path(app.root_path)
    for path in sorted(package.rglob("*")):
        if path.suffix in {".py", ".html", ".json", ".js", ".css"} and path.is_file():
            digest.update(str(path.relative_to(package)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def _cache_dir(app: Flask, backend: Any) -> Path | None:
    """The file backend's directory (its render locks go beside it); None for any other."""
    if isinstance(backend, FileSystemCache) and app.config.get("CACHE_DIR"):
        return Path(app.config["CACHE_DIR"])
    return None


def _backend_config(app: Flask) -> dict[str, object]:
    """Flask-Caching's settings, with short Redis timeouts and no retries unless configured.

    A stopped or paused Redis must cost a request a fraction of a second, and
    the store then leaves it alone for ``CACHE_RETRY_SECONDS``.
    """
    config = dict(app.config)
    if config.get("CACHE_TYPE") in ("RedisCache", "redis", "flask_caching.backends.RedisCache"):
        from redis.backoff import NoBackoff
        from redis.retry import Retry

        seconds = float(app.config["CACHE_REDIS_TIMEOUT_SECONDS"])
        options = {
            "socket_timeout": seconds,
            "socket_connect_timeout": seconds,
            "retry": Retry(NoBackoff(), 0),
        }
        config["CACHE_OPTIONS"] = {**options, **(config.get("CACHE_OPTIONS") or {})}
    return config
