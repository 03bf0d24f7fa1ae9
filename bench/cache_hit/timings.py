"""The miss path and the hit path, timed without wrk.

A miss: sequential GETs over HTTP, the cache cleared before each. A hit: the
app's WSGI callable and each part of its hit path called in this process,
without a server or sockets, beside the raw WSGI app's ``start_response``.
"""

from __future__ import annotations

import time
import timeit
from collections.abc import Callable
from typing import Any

from bench.capture import Captured
from bench.common import call


def time_misses(app: Any, port: int, path: str, count: int) -> list[float]:
    """Milliseconds of ``count`` sequential GETs of ``path``, the cache cleared before each."""
    from practice_app import services

    times = []
    for _ in range(count):
        with app.app_context():
            services.clear_cache()
        started = time.perf_counter()
        status, headers, _body = call(port, "GET", path, timeout=30)
        times.append((time.perf_counter() - started) * 1000)
        if status != 200 or headers.get("X-Cache") != "MISS":
            raise RuntimeError(f"{path} after a clear: {status} {headers.items()}")
        _wait_until_stored(app, path)
    return times


def _wait_until_stored(app: Any, path: str) -> None:
    """Wait for the worker to store the MISS it sent (it stores after sending).

    Clearing the cache directory while a worker writes its entry there makes
    that write fail, and the worker then serves dynamically for a second.
    """
    from practice_app import caching

    store = caching.bound(app).store
    deadline = time.monotonic() + 10
    while store.get(path) is None:
        if time.monotonic() > deadline:
            raise RuntimeError(f"{path}: the MISS was not stored within 10 s")
        time.sleep(0.005)


def hit_path_micros(app: Any, captured: dict[str, Captured], path: str) -> dict[str, float]:
    """Microseconds per call, in this process, of the hit path and of its parts."""
    from practice_app import caching

    middleware = caching.bound(app).middleware
    store = middleware.store
    raw_status, raw_headers, _raw_body = captured[path]
    entry = store.get(path)
    if entry is None or store.cache_dir is None:
        raise RuntimeError(f"{path} is not cached in the file-system backend")
    environ = {"REQUEST_METHOD": "GET", "PATH_INFO": path, "QUERY_STRING": ""}
    environ.update({"SERVER_NAME": "127.0.0.1", "SERVER_PORT": "80", "wsgi.url_scheme": "http"})

    def start_response(_status: str, _headers: list[tuple[str, str]]) -> None:
        return None

    steps: dict[str, Callable[[], Any]] = {
        "raw WSGI app (bench/raw_wsgi.py)": lambda: start_response(raw_status, list(raw_headers)),
        "wsgi:app, a hit (Flask.__call__ + CacheMiddleware)": lambda: app(
            dict(environ), start_response
        ),
        "- the canonical URL, remembered (CacheMiddleware.target)": lambda: middleware.target(
            dict(environ)
        ),
        "- the worker's own copy (ResponseStore.recent)": lambda: store.recent(path),
        "- the database's versions (one indexed SELECT)": lambda: middleware.versions.read(
            list(entry.versions)
        ),
        "- the response headers": lambda: middleware.headers(entry, "HIT", time.time(), None),
        "a spelling not seen yet: route it, build it back (caching.resolve)": lambda: (
            caching.resolve(app, dict(environ))
        ),
        "after another worker's change: read the shared head": lambda: store.backend.get(
            store.head_prefix + path
        ),
        "... and a body this worker has not seen": lambda: store.backend.get("body:" + entry.etag),
    }
    micros = {}
    for label, call_once in steps.items():
        number = 1000
        micros[label] = min(timeit.repeat(call_once, number=number, repeat=5)) / number * 1e6
    return micros
