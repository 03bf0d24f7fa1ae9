"""CORS for the JSON API: which browser origins may call ``/api/``, added as each response leaves.

A WSGI middleware outside everything else, the cache's hit path included:
a stored response is shared by every client, so origin-specific headers are
added to each response as it is sent (hits, misses, errors, 304s, redirects)
and never stored. ``Vary: Origin`` goes on every API response while CORS is
on, so a proxy in front never gives one origin's answer to another. A
preflight is answered by Flask's own ``OPTIONS`` (204 with the route's
``Allow``), and this layer names those methods in
``Access-Control-Allow-Methods``. Credentials are never allowed: the API's
writes take bearer tokens, not cookies. Pages never get CORS headers.

Why not flask-cors: its headers are added in ``after_request``, which the
cache's hit path (before Flask) and its 304s never reach; its preflights
name one configured list of methods, not the route's; and it leaves out
``Vary: Origin`` when one origin is configured.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

API_PREFIX = "/api/"

# What a script on an allowed origin may read of a response, and send.
EXPOSE_HEADERS = (
    "ETag, Location, Link, X-Total-Count, X-Cache, X-Request-ID, Retry-After, Idempotent-Replayed"
)
ALLOW_HEADERS = (
    "Authorization, Content-Type, If-Match, If-None-Match, Idempotency-Key, X-Request-ID"
)
_ORIGIN = re.compile(r"(?i)https?://[a-z0-9.-]+(:[0-9]{1,5})?")


@dataclass(frozen=True)
class CorsPolicy:
    """The origins allowed to call the API from a browser, and how long a preflight holds."""

    origins: frozenset[str]
    any_origin: bool
    max_age: int

    @classmethod
    def from_config(cls, value: str | Iterable[str] | None, max_age: int) -> CorsPolicy:
        """Read ``CORS_ORIGINS``: comma-separated origins, or ``*``; empty turns CORS off.

        An entry that is not an origin (``scheme://host[:port]``, no path) is
        a configuration error, reported at start-up.
        """
        entries = value.split(",") if isinstance(value, str) else list(value or ())
        origins = {entry.strip().rstrip("/").lower() for entry in entries if entry.strip()}
        any_origin = "*" in origins
        origins.discard("*")
        for origin in sorted(origins):
            if not _ORIGIN.fullmatch(origin):
                raise ValueError(
                    f"CORS_ORIGINS: {origin!r} is not an origin like https://example.com[:port]"
                )
        return cls(frozenset(origins), any_origin, max_age)

    @property
    def enabled(self) -> bool:
        return self.any_origin or bool(self.origins)

    def allow_origin(self, origin: str | None) -> str | None:
        """The ``Access-Control-Allow-Origin`` for a request from ``origin``; None if refused."""
        if not origin:
            return None
        if self.any_origin:
            return "*"
        return origin if origin.lower() in self.origins else None

    def headers(
        self, environ: dict[str, Any], status: str, sent: list[tuple[str, str]]
    ) -> list[tuple[str, str]]:
        """The headers ``sent`` for a response under /api/, with this policy's CORS headers."""
        kept = [(k, v) for k, v in sent if not k.lower().startswith("access-control-")]
        vary = [v for k, v in kept if k.lower() == "vary"]
        kept = [(k, v) for k, v in kept if k.lower() != "vary"]
        kept.append(("Vary", ", ".join([*vary, "Origin"])))
        allowed = self.allow_origin(environ.get("HTTP_ORIGIN"))
        if allowed is None:
            return kept
        kept.append(("Access-Control-Allow-Origin", allowed))
        kept.append(("Access-Control-Expose-Headers", EXPOSE_HEADERS))
        requested = environ.get("HTTP_ACCESS_CONTROL_REQUEST_METHOD", "").strip().upper()
        if environ.get("REQUEST_METHOD") == "OPTIONS" and requested and status[:1] == "2":
            methods = [m.strip() for v in _values(kept, "allow") for m in v.split(",")]
            if requested in methods:
                kept.append(("Access-Control-Allow-Methods", ", ".join(methods)))
                kept.append(("Access-Control-Allow-Headers", ALLOW_HEADERS))
                kept.append(("Access-Control-Max-Age", str(self.max_age)))
        return kept


def _values(headers: list[tuple[str, str]], name: str) -> list[str]:
    return [v for k, v in headers if k.lower() == name]


class CorsMiddleware:
    """Add the policy's CORS headers to every response under ``/api/`` as it is sent."""

    def __init__(self, wsgi_app: Callable[..., Any], policy: CorsPolicy) -> None:
        self.wsgi_app = wsgi_app
        self.policy = policy

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        # "//api/problems" is redirected to its canonical URL: that answer is the API's too.
        if not ("/" + environ.get("PATH_INFO", "").lstrip("/")).startswith(API_PREFIX):
            return self.wsgi_app(environ, start_response)

        def with_cors(status: str, headers: list[tuple[str, str]], *exc_info: Any) -> Any:
            return start_response(status, self.policy.headers(environ, status, headers), *exc_info)

        return self.wsgi_app(environ, with_cors)
