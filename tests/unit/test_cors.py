"""CORS configuration and headers (test client); hits are in e2e/test_public_api.py."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask import Flask

from practice_app.cors import CorsPolicy


def test_no_origins_configured_means_no_cors_headers_at_all(app: Flask) -> None:
    response = app.test_client().get("/api/problems", headers={"Origin": "https://a.example"})
    assert not [h for h, _ in response.headers if h.lower().startswith("access-control-")]
    assert "Origin" not in response.headers.get("Vary", "")


def test_a_star_allows_every_origin_without_credentials(make_app: Callable[..., Flask]) -> None:
    client = make_app(CORS_ORIGINS="*").test_client()
    response = client.get("/api/whoami", headers={"Origin": "https://any.example"})
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert "Access-Control-Allow-Credentials" not in response.headers
    assert "Origin" in response.headers["Vary"]
    page = client.get("/login", headers={"Origin": "https://any.example"})
    assert "Access-Control-Allow-Origin" not in page.headers


def test_origins_compare_without_regard_to_case_and_a_trailing_slash(
    make_app: Callable[..., Flask],
) -> None:
    client = make_app(CORS_ORIGINS="https://App.Example.com/ , http://localhost:3000").test_client()
    for origin in ("https://app.example.com", "http://localhost:3000"):
        response = client.get("/api/stats", headers={"Origin": origin})
        assert response.headers["Access-Control-Allow-Origin"] == origin
    refused = client.get("/api/stats", headers={"Origin": "https://app.example.com.evil.net"})
    assert "Access-Control-Allow-Origin" not in refused.headers


@pytest.mark.parametrize(
    "value", ["app.example.com", "https://app.example.com/path", "ftp://x.example", "https://"]
)
def test_an_entry_that_is_not_an_origin_is_a_configuration_error(value: str) -> None:
    with pytest.raises(ValueError, match="CORS_ORIGINS"):
        CorsPolicy.from_config(value, 600)
