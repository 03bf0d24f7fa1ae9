"""Compression (the contract's "Compression") through gunicorn with 3 workers: br or gzip
for 1 KiB and more, a stored response compressed once and served in every encoding."""

from __future__ import annotations

import gzip

import brotli
import requests

from tests.support.servers import LiveServer


def test_compression_against_gunicorn(live_server: LiveServer) -> None:
    assert live_server.flask("seed").returncode == 0
    url = live_server.url("/api/problems")
    for coding in ("br", "gzip"):
        for state in ("MISS", "HIT") if coding == "br" else ("HIT",):
            response = requests.get(
                url, headers={"Accept-Encoding": coding}, stream=True, timeout=10
            )
            raw = response.raw.read()
            assert response.headers["X-Cache"] == state
            assert response.headers["Content-Encoding"] == coding
            assert len(raw) == int(response.headers["Content-Length"])
            body = brotli.decompress(raw) if coding == "br" else gzip.decompress(raw)
            assert (
                body
                == requests.get(url, headers={"Accept-Encoding": "identity"}, timeout=10).content
            )
    # Any encoding's ETag is a 304 through gunicorn too, and HEAD says what GET would.
    br = requests.get(url, headers={"Accept-Encoding": "br"}, timeout=10)
    for etag in (br.headers["ETag"], br.headers["ETag"].replace('-br"', '"')):
        again = requests.get(
            url, headers={"Accept-Encoding": "gzip", "If-None-Match": etag}, timeout=10
        )
        assert again.status_code == 304, etag
    head = requests.head(url, headers={"Accept-Encoding": "br"}, timeout=10)
    assert head.content == b""
    assert head.headers["Content-Length"] == br.headers["Content-Length"]
    assert head.headers["ETag"] == br.headers["ETag"]
    # A dynamic answer of 1 KiB or more is compressed on the way out; a small one is not.
    search = live_server.url("/api/search?q=e&limit=50")
    found = requests.get(search, headers={"Accept-Encoding": "gzip"}, stream=True, timeout=10)
    assert found.headers["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in found.headers["Vary"]
    assert gzip.decompress(found.raw.read()) == requests.get(search, timeout=10).content
    small = requests.get(
        live_server.url("/api/whoami"), headers={"Accept-Encoding": "br"}, timeout=10
    )
    assert "Content-Encoding" not in small.headers


def test_a_miss_is_stored_in_every_encoding_once_sent_through_gunicorn(
    live_server: LiveServer,
) -> None:
    """A MISS answered as it is, then stored in br and gzip: hits on every worker, no render."""
    assert live_server.flask("seed").returncode == 0
    url = live_server.url("/api/problems")
    assert live_server.flask("cache", "clear").returncode == 0
    plain = requests.get(
        url, headers={"Accept-Encoding": "identity", "Connection": "close"}, timeout=10
    )
    assert plain.headers["X-Cache"] == "MISS"
    assert "Content-Encoding" not in plain.headers
    # New connections spread over the three workers: each waits for the render's
    # entry, or finds it, and answers from it in the encoding it asks for.
    for coding in ("br", "gzip") * 3:
        response = requests.get(
            url,
            headers={"Accept-Encoding": coding, "Connection": "close"},
            stream=True,
            timeout=10,
        )
        raw = response.raw.read()
        assert response.headers["X-Cache"] == "HIT", coding
        assert response.headers["Content-Encoding"] == coding
        assert response.headers["ETag"] == plain.headers["ETag"][:-1] + f'-{coding}"'
        decoded = brotli.decompress(raw) if coding == "br" else gzip.decompress(raw)
        assert decoded == plain.content
