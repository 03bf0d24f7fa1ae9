"""Request bodies: read whole, within ``MAX_CONTENT_LENGTH``, before anything else runs.

A write's body is read before any view or database work, so a client that
sends it slowly holds up its own worker and nothing else: no transaction is
open, no lock is held. And a body over the limit is a 413 however it is sent,
with ``Content-Length`` or chunked, before anything is written.
"""

from __future__ import annotations

from flask import Flask, request
from werkzeug.exceptions import RequestEntityTooLarge

BODILESS_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def read_whole_body() -> None:
    """Read the request's body into memory; 413 when it is larger than the limit."""
    if request.method in BODILESS_METHODS:
        return
    # Werkzeug refuses a Content-Length over the limit with 413 before reading.
    data = request.get_data(cache=True)
    limit = request.max_content_length
    if limit is None or request.content_length is not None or len(data) < limit:
        return
    # A body without Content-Length (chunked) is read up to the limit and no
    # further, without an error (werkzeug.wsgi.LimitedStream): one more byte
    # from the server's stream tells whether the client sent more.
    if request.environ["wsgi.input"].read(1):
        raise RequestEntityTooLarge()


def init_app(app: Flask) -> None:
    """Read bodies first: call before any extension adds its own ``before_request``."""
    app.before_request(read_whole_body)
