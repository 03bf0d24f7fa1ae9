"""Where each app keeps what ``RouteCache.init_app`` made for it, and how the cache finds it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from flask import Flask

from .adapter import current_flask_app
from .middleware import CacheMiddleware
from .store import ResponseStore

if TYPE_CHECKING:
    from .extension import RouteCache

# The key of an app's bound cache in ``app.extensions``.
EXTENSION = "route_cache"


@dataclass(frozen=True)
class BoundCache:
    """What ``init_app`` made for one app: the extension, its store and its hit path."""

    extension: RouteCache
    store: ResponseStore
    middleware: CacheMiddleware
    data_slots: int  # how many results each ``cache_data`` function keeps at most


def bound(app: Flask | None = None) -> BoundCache:
    """The cache bound to ``app`` (the current app when not given)."""
    found: BoundCache = (app or current_flask_app()).extensions[EXTENSION]
    return found
