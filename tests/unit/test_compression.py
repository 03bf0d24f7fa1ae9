"""Compression (the contract's "Compression"): br or gzip for 1 KiB and more, stored ones once.

Through the test client; e2e/test_compression.py sends the same through gunicorn.
"""

from __future__ import annotations

import gzip
from collections.abc import Callable
from typing import Any

import brotli
import pytest
from flask import Flask
from flask.testing import FlaskClient

from practice_app.caching import compression as codings
from tests.support.auth import bearer


@pytest.mark.parametrize(
    ("header", "chosen"),
    [
        (None, None),
        ("", None),
        ("identity", None),
        ("gzip", "gzip"),
        ("br", "br"),
        ("gzip, deflate, br", "br"),
        ("gzip;q=1.0, br;q=0.5", "br"),  # br whenever the client takes it
        ("br;q=0, gzip", "gzip"),
        ("BR;Q=0, GZIP", "gzip"),
        ("gzip;q=0", None),
        ("br;q=0", None),
        ("*", "br"),
        ("*;q=0", None),
        ("br;q=0, *", "gzip"),
        ("gzip;q=0, br;q=0, *", None),
        ("deflate, zstd", None),
        ("gzip;q=nonsense, br;q=0", None),
    ],
)
def test_choose_takes_br_when_accepted_else_gzip_and_honours_q_0(
    header: str | None, chosen: str | None
) -> None:
    assert codings.choose(header) == chosen


def decode(response: Any) -> bytes:
    body: bytes = response.data if hasattr(response, "data") else response.content
    coding = response.headers.get("Content-Encoding")
    if coding == "br":
        return bytes(brotli.decompress(body))
    if coding == "gzip":
        return gzip.decompress(body)
    assert coding is None, coding
    return body


@pytest.fixture
def seeded(app: Flask, runner: Any) -> Flask:
    assert runner.invoke(args=["seed"]).exit_code == 0
    return app


def test_a_stored_response_is_compressed_once_and_each_encoding_has_its_etag(
    seeded: Flask, client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[str] = []
    real = codings.compress

    def counting(body: bytes, coding: str) -> bytes:
        calls.append(coding)
        return real(body, coding)

    monkeypatch.setattr(codings, "compress", counting)
    plain = client.get("/api/problems", buffered=False)  # sent, not yet closed
    assert plain.headers["X-Cache"] == "MISS"
    assert calls == []  # a client that takes no compression waits for none...
    plain.close()
    assert sorted(calls) == ["br", "gzip"]  # ...both are made once it is sent, and stored
    assert len(plain.data) > codings.MIN_SIZE
    assert "Content-Encoding" not in plain.headers
    assert "Accept-Encoding" in plain.headers["Vary"]

    etags = {None: plain.headers["ETag"]}
    for coding in ("br", "gzip"):
        for state in ("HIT", "HIT"):
            response = client.get("/api/problems", headers={"Accept-Encoding": coding})
            assert response.headers["X-Cache"] == state
            assert response.headers["Content-Encoding"] == coding
            assert "Accept-Encoding" in response.headers["Vary"]
            assert int(response.headers["Content-Length"]) == len(response.data)
            assert decode(response) == plain.data
            etags[coding] = response.headers["ETag"]
    assert len(set(etags.values())) == 3
    assert sorted(calls) == ["br", "gzip"]  # never again per hit

    for etag in etags.values():  # any encoding's ETag is a 304, whichever is asked for
        for coding in ("br", "gzip", "identity"):
            again = client.get(
                "/api/problems", headers={"If-None-Match": etag, "Accept-Encoding": coding}
            )
            assert again.status_code == 304
            assert again.data == b""
    head = client.head("/api/problems", headers={"Accept-Encoding": "gzip"})
    assert head.data == b""
    assert head.headers["Content-Encoding"] == "gzip"
    assert head.headers["ETag"] == etags["gzip"]
    assert int(head.headers["Content-Length"]) == len(
        client.get("/api/problems", headers={"Accept-Encoding": "gzip"}).data
    )


def test_a_miss_sends_the_asked_encoding_too(seeded: Flask, client: FlaskClient) -> None:
    miss = client.get("/api/problems/1", headers={"Accept-Encoding": "gzip, br"})
    assert miss.headers["X-Cache"] == "MISS"
    assert miss.headers["Content-Encoding"] == "br"
    hit = client.get("/api/problems/1", headers={"Accept-Encoding": "gzip, br"})
    assert (hit.headers["X-Cache"], hit.data, hit.headers["ETag"]) == (
        "HIT",
        miss.data,
        miss.headers["ETag"],
    )


def test_small_responses_are_sent_as_they_are(seeded: Flask, client: FlaskClient) -> None:
    small = client.get("/api/clock/static", headers={"Accept-Encoding": "br"})
    assert "Content-Encoding" not in small.headers
    whoami = client.get("/api/whoami", headers={"Accept-Encoding": "br"})
    assert "Content-Encoding" not in whoami.headers


def test_dynamic_responses_are_compressed_on_the_way_out(
    seeded: Flask, client: FlaskClient
) -> None:
    plain = client.get("/api/search?q=e&limit=50")
    assert "X-Cache" not in plain.headers and len(plain.data) > codings.MIN_SIZE
    for coding in ("br", "gzip"):
        response = client.get("/api/search?q=e&limit=50", headers={"Accept-Encoding": coding})
        assert response.headers["Content-Encoding"] == coding
        assert "Accept-Encoding" in response.headers["Vary"]
        assert decode(response) == plain.data
    page = client.get("/", headers={"Accept-Encoding": "gzip"})
    assert page.headers["Content-Encoding"] == "gzip"
    assert b"<html" in decode(page)
    with (
        client.get("/static/app.css", headers={"Accept-Encoding": "br"}) as css,
        client.get("/static/app.css") as plain_css,
    ):
        assert css.headers["Content-Encoding"] == "br"
        assert "Accept-Ranges" not in css.headers
        assert decode(css) == plain_css.data


def test_if_match_takes_the_etag_of_any_encoding(
    app: Flask,
    client: FlaskClient,
    make_user: Callable[..., int],
    make_token: Callable[[str], str],
) -> None:
    make_user("alice")
    token = make_token("alice")
    path = client.post(
        "/api/problems", json={"name": "Big", "statement": "x" * 3000}, headers=bearer(token)
    ).headers["Location"]
    etag = client.get(path, headers={"Accept-Encoding": "br"}).headers["ETag"]
    assert etag.endswith('-br"')
    patched = client.patch(
        path,
        json={"difficulty": "hard"},
        headers={**bearer(token), "If-Match": etag, "Accept-Encoding": "gzip"},
    )
    assert patched.status_code == 200
    assert patched.headers["Content-Encoding"] == "gzip"
    assert patched.headers["ETag"].endswith('-gzip"')
    assert (
        client.patch(
            path, json={"difficulty": "easy"}, headers={**bearer(token), "If-Match": etag}
        ).status_code
        == 412
    )
