"""Compression: br when the client accepts it, else gzip, for every response of 1 KiB or more.

Stored responses are compressed once, when the cache stores them (one body
per encoding, each with its own ``ETag``), and a hit sends the encoding the
client asked for as it is. Every other response is compressed as it leaves
Flask (:func:`compress_response`). Both ask :func:`choose` which encoding.

Why not Flask-Compress: it works in ``after_request``, which the cache's
hit path never reaches, and it picks an encoding the client refused with
``q=0`` when that is the only one listed (``Accept-Encoding: gzip;q=0``).
"""

from __future__ import annotations

import functools
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping

import brotli
from flask import Flask, Response, request
from isal import igzip

MIN_SIZE = 1024
# The encodings offered, in the order preferred when the client accepts both.
CODINGS = ("br", "gzip")
BROTLI_QUALITY = 4  # fast, and within a few per cent of the best for JSON and HTML
# Intel's ISA-L (python-isal): gzip ten times faster than zlib's level 6 for
# output within a sixth of its size; level 3 is its best.
GZIP_LEVEL = 3
VARY = "Accept-Encoding"
# Compressed static files each worker keeps, by (ETag, encoding).
STATIC_KEPT = 64


@functools.lru_cache(maxsize=256)
def choose(accept_encoding: str | None) -> str | None:
    """The encoding to send for this ``Accept-Encoding``: ``br``, ``gzip``, or None (as is).

    A coding counts when the header gives it a quality above 0, by name or
    through ``*`` (a named ``q=0`` wins over ``*``); ``br`` is preferred.
    """
    if not accept_encoding:
        return None
    named: dict[str, float] = {}
    star = 0.0
    for part in accept_encoding.split(","):
        coding, _, params = part.strip().partition(";")
        coding = coding.strip().lower()
        quality = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if coding == "*":
            star = quality
        elif coding:
            named[coding] = quality
    for coding in CODINGS:
        if named.get(coding, star) > 0:
            return coding
    return None


def compress(body: bytes, coding: str) -> bytes:
    """``body`` in ``coding`` (``br`` or ``gzip``; gzip without a timestamp, so it is stable)."""
    if coding == "br":
        return bytes(brotli.compress(body, quality=BROTLI_QUALITY))
    return bytes(igzip.compress(body, compresslevel=GZIP_LEVEL, mtime=0))


def encode_all(body: bytes, made: Mapping[str, bytes] | None = None) -> dict[str, bytes]:
    """Every encoding of a body worth compressing (none under ``MIN_SIZE``), but those ``made``."""
    if len(body) < MIN_SIZE:
        return {}
    made = made or {}
    return {coding: made.get(coding) or compress(body, coding) for coding in CODINGS}


def variant_etag(etag: str, coding: str | None) -> str:
    """The ETag of one encoding of a representation: ``"abc"`` is ``"abc-br"`` in br."""
    if coding is None or not etag.endswith('"'):
        return etag
    return f'{etag[:-1]}-{coding}"'


def base_etag(etag: str) -> str:
    """The representation's own ETag, whichever encoding's ETag ``etag`` is."""
    for coding in CODINGS:
        suffix = f'-{coding}"'
        if etag.endswith(suffix):
            return etag[: -len(suffix)] + '"'
    return etag


def add_vary(headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """``headers`` with ``Accept-Encoding`` in ``Vary``."""
    for index, (name, value) in enumerate(headers):
        if name.lower() == "vary":
            if VARY.lower() not in value.lower():
                headers[index] = (name, f"{value}, {VARY}")
            return headers
    headers.append(("Vary", VARY))
    return headers


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
