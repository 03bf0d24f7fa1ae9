"""Security headers of the API docs page: the policy Swagger UI works under.

The pages' headers (a strict CSP, frame protection) are set by the ``web``
blueprint, and ``nosniff`` on every response by ``headers.py``. ``/api/docs``
is not one of the pages, and gets a policy that Swagger UI works under: its
scripts from this site only (the initialiser is ``static/swagger-init.js``,
not inline), the inline styles it sets, images from this site and ``data:``
URIs, and no framing.
"""

from __future__ import annotations

from flask import Flask, Response, request

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


def docs_headers(response: Response) -> Response:
    """Give the Swagger UI page its content security policy and frame protection."""
    if request.endpoint == DOCS_ENDPOINT:
        for name, value in DOCS_HEADERS.items():
            response.headers.setdefault(name, value)
    return response


def init_app(app: Flask) -> None:
    """Install the docs page's headers."""
    app.after_request(docs_headers)
