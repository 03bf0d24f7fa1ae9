"""Next.js's full route cache for Flask: a Flask extension that stands alone.

GET views are stored unless they read the request (``auto``), or as they
declare with :func:`cache_view` (``force-dynamic``, ``force-static``,
``error``, ``revalidate=N``, ``tags``); a write makes stale what it changed,
on every worker and machine, before it is answered. It needs Flask,
Flask-SQLAlchemy (the database holds the versions that say what is current)
and Flask-Caching (its backend holds the stored responses), and brotli and
isal for the encodings it stores; nothing else of the app around it.

Use::

    db, cache = SQLAlchemy(), Cache()
    route_cache = RouteCache(db=db, cache=cache)
    ...  # register the views, then:
    route_cache.init_app(app)

One module a job:

``extension``
    :class:`RouteCache`: what it is given, its settings, ``init_app``.
``policy``
    The declaration a view makes with :func:`cache_view` (``auto`` when it
    has none) and the ``Cache-Control`` of what is stored.
``tracking``
    :class:`TrackingRequest`, which records what a view reads of the request.
``schema`` and ``versions``
    The ``cache_versions`` table: a write bumps the versions of paths and
    tags in its own transaction, a stored response is served only while they
    are unchanged.
``store``
    The shared store (Flask-Caching's backend): heads, bodies, the render
    lock; every failure is a miss.
``compression``
    The encodings a stored response is kept in (br, gzip).
``data``
    The data cache: :func:`cache_data` keeps a read function's results
    (``unstable_cache``), checked against the same versions.
``middleware``
    The hit path, before Flask: canonical URLs, version check, 304s, STALE
    and its regeneration after the response is sent.
``render``
    The miss path, inside Flask: run the view, observe it, store the result.
``invalidation``
    What a write calls inside its transaction (``revalidatePath``, ``revalidateTag``).
``statements``
    Statements compiled once per dialect and run raw (the hit path's read).
``warm``
    Build-time static: :func:`warm` stores every parameterless route before traffic.
``wsgi``
    Plain WSGI helpers: a GET made inside the app, a body closed as a server does.
``adapter`` and ``state``
    The only reaches into Flask's private parts; where an app keeps its bound cache.
"""

from __future__ import annotations

from .data import DATA_HEADER, cache_data
from .extension import DEFAULTS, RouteCache, code_version
from .invalidation import (
    clear,
    declared_tags,
    invalidate_all,
    invalidate_data,
    invalidate_tag,
    revalidate,
    why_not_stored,
)
from .middleware import ROUTE_ENVIRON, resolve
from .policy import (
    DYNAMIC_CACHE_CONTROL,
    SHARED_CACHE_CONTROL,
    CachePolicy,
    StaticViewReadRequest,
    cache_exempt,
    cache_view,
    policy_for,
    shared_cache_control,
)
from .render import mark_dynamic
from .state import bound
from .store import Entry, ResponseStore, body_etag
from .tracking import TrackingRequest
from .warm import Warmed, warm
from .wsgi import SubResponse, subrequest

__all__ = [
    "DATA_HEADER",
    "DEFAULTS",
    "DYNAMIC_CACHE_CONTROL",
    "ROUTE_ENVIRON",
    "SHARED_CACHE_CONTROL",
    "CachePolicy",
    "Entry",
    "ResponseStore",
    "RouteCache",
    "StaticViewReadRequest",
    "SubResponse",
    "TrackingRequest",
    "Warmed",
    "body_etag",
    "bound",
    "cache_data",
    "cache_exempt",
    "cache_view",
    "clear",
    "code_version",
    "declared_tags",
    "invalidate_all",
    "invalidate_data",
    "invalidate_tag",
    "mark_dynamic",
    "policy_for",
    "resolve",
    "revalidate",
    "shared_cache_control",
    "subrequest",
    "warm",
    "why_not_stored",
]
