"""How a GET view declares that it is cached: Next.js's ``dynamic`` and ``revalidate``."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

from flask import Flask

Mode = Literal["auto", "force-dynamic", "force-static", "error"]
MODES: tuple[str, ...] = ("auto", "force-dynamic", "force-static", "error")
DYNAMIC_CACHE_CONTROL = "private, no-cache, no-store, max-age=0, must-revalidate"
# A stored response may be kept by a proxy or CDN, which must ask again before
# each use: the app's invalidation reaches its own store, not theirs.
SHARED_CACHE_CONTROL = "public, no-cache"

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


AUTO = CachePolicy()


def cache_view(
    mode: Mode = "auto", *, revalidate: int | None = None, tags: Iterable[str] = ()
) -> Callable[[F], F]:
    """Declare how a GET view is cached (``dynamic`` and ``revalidate`` in Next.js).

    ``tags`` name what the response shows (``revalidateTag`` in Next.js);
    ``"problems"`` means any problem, so a mutation of problem 7 drops this
    view's entry (built with ``problem_id=7`` when its URL takes one).
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


def cache_exempt(view: F) -> F:
    """Leave a view out of the cache altogether: no declaration, no canonical redirect.

    For views that do their own conditional requests or must not be told
    apart from an unknown URL (an app's ``/metrics``).
    """
    view.cache_exempt = True  # type: ignore[attr-defined]
    return view


class StaticViewReadRequest(RuntimeError):
    """A view declared ``error`` (static, reads are errors) read the request."""


def policy_for(app: Flask, endpoint: str | None, method: str) -> CachePolicy | None:
    """Return the declaration of the view serving ``endpoint`` for ``method``.

    ``None`` means the view is left alone (static files, which do their own
    conditional requests, and views marked ``cache_exempt``). A revalidating
    view's period is ``CACHE_REVALIDATE``'s for its endpoint, when it has one.
    """
    policy = declared_policy(app, endpoint, method)
    if policy is None or not policy.revalidate:
        return policy
    period = app.config.get("CACHE_REVALIDATE", {}).get(endpoint)
    return policy if period is None else dataclasses.replace(policy, revalidate=int(period))


def declared_policy(app: Flask, endpoint: str | None, method: str) -> CachePolicy | None:
    """The declaration the view's code makes (:func:`policy_for`, before the configuration)."""
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
    if handler is None or getattr(handler, "cache_exempt", False):
        return None
    return getattr(handler, "cache_policy", AUTO)


def check_revalidate_overrides(app: Flask, setting: str = "CACHE_REVALIDATE") -> None:
    """Refuse ``CACHE_REVALIDATE`` entries that name no view declaring ``revalidate=N``.

    The setting changes the period of revalidating views by endpoint (say
    ``{"api.clock_revalidate": 60}``), without changing their code; it never
    makes a static or dynamic view revalidate. Its shape (whole seconds above
    0) is checked with the rest of the configuration (``config_checks``).
    """
    for endpoint in app.config.get(setting) or {}:
        declared = declared_policy(app, endpoint, "GET")
        if declared is None or not declared.revalidate:
            raise ValueError(f"{setting}: {endpoint!r} is not a view declared with revalidate=N")


def shared_cache_control(revalidate: int | None, shared_max_age: int | None) -> str:
    """``Cache-Control`` of a stored response, for the proxies and CDNs in front of the app.

    ``public, no-cache`` by default: they may keep it, and must ask the app (a
    cheap 304) before each use. With ``shared_max_age`` (a CDN that the deploy
    purges) they may serve it for that long, capped at the revalidate period.
    """
    if not shared_max_age:
        return SHARED_CACHE_CONTROL
    seconds = min(shared_max_age, revalidate) if revalidate else shared_max_age
    return f"public, s-maxage={seconds}, stale-while-revalidate={seconds}"
