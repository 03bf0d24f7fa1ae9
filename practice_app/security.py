"""The pages' defences in one place: every security header the app sets, and the forms' Origin.

The pages (the ``web`` blueprint) load only their own files: no inline
script, no other origin, no framing. ``/api/docs`` is not one of the pages,
and gets a policy that Swagger UI works under: its scripts from this site
only (the initialiser is ``static/swagger-init.js``, not inline), the inline
styles it sets, images from this site and ``data:`` URIs, and no framing.
``nosniff`` goes on every response, cache hits included, from ``headers.py``
(a WSGI middleware, because hits are served before Flask).

The form actions are protected by Flask-WTF's CSRF token; as defence in
depth, a form POST whose ``Origin`` names another site is refused too
(:func:`refuse_other_origins`), as Next.js refuses a Server Action whose
``Origin`` does not match its ``Host``.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Flask, Response, request

from .errors import NotAllowed

OTHER_ORIGIN = "This form was sent from another site, so nothing was saved."

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


def refuse_other_origins() -> None:
    """Refuse a form POST that a browser says came from another site (the pages' before_request).

    Browsers send ``Origin`` with every form POST. As Next.js does for a
    Server Action, its host (and port) is compared with the request's
    ``Host``; when they differ (or ``Origin`` is ``null``), the request is a
    403 and nothing is written, even with a valid CSRF token. The scheme is
    not compared, so a TLS proxy in front that forwards plain HTTP changes
    nothing; behind a proxy that rewrites ``Host``, ``FLASK_PROXY_FIX_HOPS``
    makes the forwarded host the request's. A POST without ``Origin`` (an
    old browser, a script) is left to the token.
    """
    if request.method != "POST":
        return
    origin = request.headers.get("Origin")
    if origin is not None and urlsplit(origin).netloc.lower() != request.host.lower():
        raise NotAllowed(OTHER_ORIGIN)


def docs_headers(response: Response) -> Response:
    """Give the Swagger UI page its content security policy and frame protection."""
    if request.endpoint == DOCS_ENDPOINT:
        for name, value in DOCS_HEADERS.items():
            response.headers.setdefault(name, value)
    return response


def init_app(app: Flask) -> None:
    """Install the docs page's headers."""
    app.after_request(docs_headers)
