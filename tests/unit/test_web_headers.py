"""Headers: the pages' policy, the docs page's, and what every response's headers obey."""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask
from flask.testing import FlaskClient

from tests.support.auth import bearer


def test_pages_carry_a_strict_content_security_policy(client: FlaskClient) -> None:
    for path in ("/", "/login", "/compare"):
        response = client.get(path)
        policy = response.headers["Content-Security-Policy"]
        assert "script-src 'self';" in policy and "frame-ancestors 'none'" in policy
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["X-Frame-Options"] == "DENY"


def test_every_response_is_nosniff_and_json_needs_no_policy(client: FlaskClient) -> None:
    # The API's JSON, its errors, a cache miss, a hit (served before Flask) and a 304.
    miss = client.get("/api/problems")
    hit = client.get("/api/problems")
    assert (miss.headers["X-Cache"], hit.headers["X-Cache"]) == ("MISS", "HIT")
    not_modified = client.get("/api/problems", headers={"If-None-Match": hit.headers["ETag"]})
    assert not_modified.status_code == 304
    others = [client.get(p) for p in ("/api/problems/999", "/api/openapi.json", "/healthz")]
    others.append(client.post("/api/problems", json={}))
    with client.get("/static/app.js") as static_file:
        others.append(static_file)
    for response in (miss, hit, not_modified, *others):
        assert response.headers.getlist("X-Content-Type-Options") == ["nosniff"], response
    assert "Content-Security-Policy" not in miss.headers


def test_the_api_docs_have_a_policy_swagger_ui_works_under(client: FlaskClient) -> None:
    # browser/test_pages.py renders the page in Chromium under this policy.
    response = client.get("/api/docs")
    policy = response.headers["Content-Security-Policy"]
    assert "script-src 'self';" in policy and "frame-ancestors 'none'" in policy
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "<script>" not in response.text  # the initialiser is static/swagger-init.js


def test_a_204_or_304_has_no_content_type_and_only_a_429_has_retry_after(
    make_app: Callable[..., Flask],
    make_user: Callable[..., int],
    make_token: Callable[[str], str],
) -> None:
    client = make_app(RATELIMIT_ENABLED=True, API_WRITE_RATE_LIMIT="3 per minute").test_client()
    make_user("alice")
    token = bearer(make_token("alice"))
    created = client.post("/api/problems", json={"name": "Brief"}, headers=token)
    changed = client.patch("/api/problems/1", json={"difficulty": "hard"}, headers=token)
    deleted = client.delete("/api/problems/1", headers=token)
    refused = client.post("/api/problems", json={"name": "One too many"}, headers=token)
    assert [r.status_code for r in (created, changed, deleted, refused)] == [201, 200, 204, 429]
    for response in (created, changed, deleted):
        assert "Retry-After" not in response.headers
        assert response.headers["X-RateLimit-Limit"] == "3"
    assert int(refused.headers["Retry-After"]) > 0

    client.get("/api/problems")
    hit = client.get("/api/problems")
    not_modified = client.get("/api/problems", headers={"If-None-Match": hit.headers["ETag"]})
    options = [client.options(path) for path in ("/api/problems", "/api/problems/1", "/login")]
    assert [r.status_code for r in (not_modified, *options)] == [304, 204, 204, 204]
    for response in (deleted, not_modified, *options):
        assert "Content-Type" not in response.headers
        assert response.data == b""
        assert response.headers["X-Content-Type-Options"] == "nosniff"
