"""The encodings of stored responses: br when the client accepts it, else gzip, from 1 KiB.

A stored response is compressed once, when it is stored (one body per
encoding, each with its own ``ETag``: ``"abc"`` is ``"abc-br"`` in br), and
a hit sends the encoding the client asked for as it is. An app that
compresses its other responses asks :func:`choose` too, so both agree.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping

import brotli
from isal import igzip

MIN_SIZE = 1024
# The encodings offered, in the order preferred when the client accepts both.
CODINGS = ("br", "gzip")
BROTLI_QUALITY = 4  # fast, and within a few per cent of the best for JSON and HTML
# Intel's ISA-L (python-isal): gzip ten times faster than zlib's level 6 for
# output within a sixth of its size; level 3 is its best.
GZIP_LEVEL = 3
VARY = "Accept-Encoding"


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
