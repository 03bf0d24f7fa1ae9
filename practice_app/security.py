"""Every security header the app sets, in one place: the pages', and the API docs page's.

The pages (the ``web`` blueprint) load only their own files: no inline
script, no other origin, no framing. ``/api/docs`` is not one of the pages,
and gets a policy that Swagger UI works under: its scripts from this site
only (the initialiser is ``static/swagger-init.js``, not inline), the inline
styles it sets, images from this site and ``data:`` URIs, and no framing.
``nosniff`` goes on every response, cache hits included, from ``headers.py``
(a WSGI middleware, because hits are served before Flask).
"""

from __future__ import annotations

from flask import Flask, Response, request

# Inline style attributes are allowed for the text-align that nh3 keeps on
# Markdown table cells; images in statements may come from any http(s) host.
PAGE_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' https: http: data:; connect-src 'self'; object-src 'none'; "
        "base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}
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


def page_headers(response: Response) -> Response:
    """Add the pages' security headers (the ``web`` blueprint's ``after_request``)."""
    for name, value in PAGE_HEADERS.items():
        response.headers.setdefault(name, value)
    return response


def docs_headers(response: Response) -> Response:
    """Give the Swagger UI page its content security policy and frame protection."""
    if request.endpoint == DOCS_ENDPOINT:
        for name, value in DOCS_HEADERS.items():
            response.headers.setdefault(name, value)
    return response


def init_app(app: Flask) -> None:
    """Install the docs page's headers."""
    app.after_request(docs_headers)
