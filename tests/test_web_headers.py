"""Security headers: the pages' policy, the docs page's, and nosniff on every response."""

from __future__ import annotations

from flask.testing import FlaskClient


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
    # tests/test_browser.py renders the page in Chromium under this policy.
    response = client.get("/api/docs")
    policy = response.headers["Content-Security-Policy"]
    assert "script-src 'self';" in policy and "frame-ancestors 'none'" in policy
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "<script>" not in response.text  # the initialiser is static/swagger-init.js
