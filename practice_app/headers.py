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

from collections.abc import Callable, Iterable
from typing import Any

NOSNIFF = ("X-Content-Type-Options", "nosniff")
# Statuses that have no body, so no type of body either.
BODILESS = frozenset({204, 304})
# Statuses that tell a client to come back later, and when.
RETRY_LATER = frozenset({429, 503})


def obey_rules(status: int, headers: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    """Return ``headers`` as a response of ``status`` may send them."""
    dropped = set()
    if status in BODILESS:
        dropped.add("content-type")
    if status not in RETRY_LATER:
        dropped.add("retry-after")
    kept = [(name, value) for name, value in headers if name.lower() not in dropped]
    if not any(name.lower() == "x-content-type-options" for name, _ in kept):
        kept.append(NOSNIFF)
    return kept


class HeaderRulesMiddleware:
    """Make every response's headers obey the rules above, whichever layer made it."""

    def __init__(self, wsgi_app: Callable[..., Any]) -> None:
        self.wsgi_app = wsgi_app

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        def obeying(status: str, headers: list[tuple[str, str]], *exc_info: Any) -> Any:
            return start_response(status, obey_rules(int(status[:3]), headers), *exc_info)

        return self.wsgi_app(environ, obeying)
