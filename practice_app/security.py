"""Security headers: ``nosniff`` on every response, and the API docs page's own policy.

The pages' headers (a strict CSP, frame protection) are set by the ``web``
blueprint. Two things are not pages: every response, JSON and cache hits
included, is labelled ``X-Content-Type-Options: nosniff`` by a WSGI
middleware that sees them all (hits and 304s are served before Flask, so an
``after_request`` hook would miss them); and ``/api/docs`` gets a policy that
Swagger UI works under: its scripts from this site only (the initialiser is
``static/swagger-init.js``, not inline), the inline styles it sets, images
from this site and ``data:`` URIs, and no framing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Flask, Response, request

NOSNIFF = ("X-Content-Type-Options", "nosniff")
DOCS_ENDPOINT = "api-docs.openapi_swagger_ui"
DOCS_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data:; connect-src 'self'; object-src 'none'; "
        "base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}


class NosniffMiddleware:
    """Label every response ``X-Content-Type-Options: nosniff``, whichever layer made it."""

    def __init__(self, wsgi_app: Callable[..., Any]) -> None:
        self.wsgi_app = wsgi_app

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        def labelled(status: str, headers: list[tuple[str, str]], *exc_info: Any) -> Any:
            if not any(name.lower() == "x-content-type-options" for name, _ in headers):
                headers = [*headers, NOSNIFF]
            return start_response(status, headers, *exc_info)

        return self.wsgi_app(environ, labelled)


def docs_headers(response: Response) -> Response:
    """Give the Swagger UI page its content security policy and frame protection."""
    if request.endpoint == DOCS_ENDPOINT:
        for name, value in DOCS_HEADERS.items():
            response.headers.setdefault(name, value)
    return response


def init_app(app: Flask) -> None:
    """Install the docs page's headers; ``create_app`` wraps the WSGI app in the middleware."""
    app.after_request(docs_headers)
