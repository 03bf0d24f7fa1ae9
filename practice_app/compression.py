"""Compression of what Flask answers: the encodings the cache stores, for every other response.

Stored responses are compressed once, when the cache stores them
(``caching.compression``); every other response of 1 KiB or more is
compressed here as it leaves Flask, in the encoding ``caching.compression.choose``
picks, so a client gets the same encoding from a hit and from Flask.

Why not Flask-Compress: it works in ``after_request``, which the cache's
hit path never reaches, and it picks an encoding the client refused with
``q=0`` when that is the only one listed (``Accept-Encoding: gzip;q=0``).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable

from flask import Flask, Response, request

from .caching.compression import MIN_SIZE, VARY, choose, compress

# Compressed static files each worker keeps, by (ETag, encoding).
STATIC_KEPT = 64


class _StaticBodies:
    """Compressed static files, kept per worker by their ETag: compressed once each."""

    def __init__(self) -> None:
        self._kept: OrderedDict[tuple[str, str], bytes] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, etag: str, coding: str, body: Callable[[], bytes]) -> bytes:
        key = (etag, coding)
        with self._lock:
            found = self._kept.get(key)
        if found is None:
            found = compress(body(), coding)
            with self._lock:
                self._kept[key] = found
                while len(self._kept) > STATIC_KEPT:
                    self._kept.popitem(last=False)
        return found


_static = _StaticBodies()


def compress_response(response: Response) -> Response:
    """Compress a response made by Flask on its way out (stored ones are done by the cache).

    Answers under 1 KiB, without a body, already encoded, or served by the
    cache (which sends its stored encodings itself) are left as they are.
    """
    if (
        "X-Cache" in response.headers
        or "Content-Encoding" in response.headers
        or response.status_code < 200
        or response.status_code in (204, 206, 304)
    ):
        return response
    length = response.content_length
    if length is not None and length < MIN_SIZE:
        return response
    a_file = response.direct_passthrough  # send_file's: read it, compress it once
    if response.is_streamed and not a_file:
        return response  # a generator: sent as it is made
    response.direct_passthrough = False
    body = response.get_data()
    if len(body) < MIN_SIZE:
        return response
    response.vary.add(VARY)
    coding = choose(request.headers.get("Accept-Encoding"))
    if coding is None:
        return response
    etag, weak = response.get_etag()
    if a_file and etag is not None:
        encoded = _static.get(etag, coding, lambda: body)
    else:
        encoded = compress(body, coding)
    response.set_data(encoded)
    response.headers["Content-Encoding"] = coding
    response.headers.pop("Accept-Ranges", None)  # ranges of the file, not of this encoding
    if etag:
        response.set_etag(f"{etag}-{coding}", weak=bool(weak))
    return response


def init_app(app: Flask) -> None:
    """Compress what Flask answers (the cache's hits are compressed when stored)."""
    app.after_request(compress_response)
