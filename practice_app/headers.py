"""What every response's headers obey, whichever layer of the app made the response.

A WSGI middleware, not an ``after_request`` hook, because Flask makes only
some of the responses: the cache's hit path serves stored responses and
304s before Flask runs, the CORS middleware answers preflights itself, and
Flask-Limiter adds its headers in an ``after_request`` hook of its own. Only
a layer around them all sees every response as it is sent:

- ``X-Content-Type-Options: nosniff`` on each, so that no browser takes a
  JSON body, or a user's text in one, for HTML;
- no ``Content-Type`` on a 204 or a 304, which have no body to have a type
  (Werkzeug gives every response one, ``text/html`` by default);
- ``Retry-After`` with a 429 or a 503 only: with ``RATELIMIT_HEADERS_ENABLED``
  Flask-Limiter adds it to every response under a limit, where it would
  tell a client whose write succeeded to wait.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

NOSNIFF = ("X-Content-Type-Options", "nosniff")
# Statuses that have no body, so no type of body either.
BODILESS = frozenset({204, 304})
# Statuses that tell a client to come back later, and when.
RETRY_LATER = frozenset({429, 503})


def obey_rules(status: int, headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Return ``headers`` as a response of ``status`` may send them (each name lowered once)."""
    names = [name.lower() for name, _ in headers]
    dropped = {"retry-after"} if status not in RETRY_LATER else set()
    if status in BODILESS:
        dropped.add("content-type")
    if dropped.intersection(names):
        headers = [pair for pair, name in zip(headers, names, strict=True) if name not in dropped]
    if "x-content-type-options" not in names:
        headers = [*headers, NOSNIFF]
    return headers


class HeaderRulesMiddleware:
    """Make every response's headers obey the rules above, whichever layer made it."""

    def __init__(self, wsgi_app: Callable[..., Any]) -> None:
        self.wsgi_app = wsgi_app

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        def obeying(status: str, headers: list[tuple[str, str]], *exc_info: Any) -> Any:
            return start_response(status, obey_rules(int(status[:3]), headers), *exc_info)

        return self.wsgi_app(environ, obeying)
