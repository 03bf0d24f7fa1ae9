"""What operators see of each request: its id, its access-log fields, and Prometheus metrics.

A WSGI middleware outside everything else (the cache's hit path included)
gives every response an ``X-Request-ID`` (the caller's when it is sane,
else a new one), puts into the environ what gunicorn's access log prints
(``gunicorn.conf.py``: the id, the method, the path percent-encoded and
without its query string, the status, the duration and the user), and
counts each request in prometheus_client's metrics: by route, method and
status, with its duration, and the cache's results by route.

Under gunicorn the metrics live in ``PROMETHEUS_MULTIPROC_DIR`` (made fresh
by a hook in ``gunicorn.conf.py``), so ``/metrics`` sums every worker;
without it (the CLI, the tests' app) they are this process's.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)

from .caching import ROUTE_ENVIRON as CACHE_ROUTE_ENVIRON

REQUEST_ID_HEADER = "X-Request-ID"
_SANE_ID = re.compile(r"[A-Za-z0-9._-]{1,128}")

# Set in the environ: the URL rule that answered (for the metrics' labels),
# and what the access log prints.
ROUTE_ENVIRON = "practice.route"
USER_ENVIRON = "practice.user"
PATH_ENVIRON = "practice.path"
UNMATCHED = "(unmatched)"
# Methods counted by name; any other is "other", so clients cannot grow the label set.
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

REQUESTS = Counter(
    "practice_requests",
    "Requests answered, by route, method and status.",
    ["route", "method", "status"],
)
DURATION = Histogram(
    "practice_request_duration_seconds",
    "Time to the response's status and headers, by route and method.",
    ["route", "method"],
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
CACHE_RESULTS = Counter(
    "practice_cache_results",
    "Cache results by route: hit, miss, stale (served while regenerating), invalidated.",
    ["route", "result"],
)


# Each metric's labelled children, by their labels: ``labels()`` costs more
# than the count itself, and a cache hit counts twice.
_children: dict[tuple[Any, ...], Any] = {}


def _child(metric: Any, *labels: str) -> Any:
    key = (id(metric), *labels)
    child = _children.get(key)
    if child is None:
        child = _children.setdefault(key, metric.labels(*labels))
    return child


def count_cache(route: str, result: str) -> None:
    """Count one cache result (``hit``, ``miss``, ``stale``, ``invalidated``) for ``route``."""
    _child(CACHE_RESULTS, route, result).inc()


def name_user(environ: dict[str, Any], name: str) -> None:
    """Record who made the request, for the access log (user names are ``[A-Za-z0-9_.-]``)."""
    environ[USER_ENVIRON] = name


def name_route(environ: dict[str, Any], rule: str | None) -> None:
    """Record which URL rule answered the request, for the metrics' labels."""
    environ[ROUTE_ENVIRON] = rule or UNMATCHED


def request_id(environ: dict[str, Any]) -> str:
    """The caller's ``X-Request-ID`` when it is 1-128 of ``A-Z a-z 0-9 . _ -``, else a new one."""
    given = environ.get("HTTP_X_REQUEST_ID", "")
    return given if _SANE_ID.fullmatch(given) else os.urandom(16).hex()


def render_metrics() -> tuple[bytes, str]:
    """The metrics in Prometheus's text format, summed over every worker under gunicorn."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST


class TelemetryMiddleware:
    """Give each response its request id, and count it, before any other layer runs."""

    def __init__(self, wsgi_app: Callable[..., Any]) -> None:
        self.wsgi_app = wsgi_app

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        started = time.perf_counter()
        rid = request_id(environ)
        environ["HTTP_X_REQUEST_ID"] = rid
        environ[PATH_ENVIRON] = quote(environ.get("PATH_INFO", ""), safe="/;:@&=+$,!~*'()")
        environ.setdefault(USER_ENVIRON, "-")
        method = environ.get("REQUEST_METHOD", "")
        method = method if method in METHODS else "other"

        def counted(status: str, headers: list[tuple[str, str]], *exc_info: Any) -> Any:
            # Flask's rule, or the cache's when a stored response answered.
            route = environ.get(ROUTE_ENVIRON) or environ.get(CACHE_ROUTE_ENVIRON, UNMATCHED)
            _child(REQUESTS, route, method, status[:3]).inc()
            _child(DURATION, route, method).observe(time.perf_counter() - started)
            # No layer inside sets X-Request-ID: this one is the response's only one.
            return start_response(status, [*headers, (REQUEST_ID_HEADER, rid)], *exc_info)

        return self.wsgi_app(environ, counted)
