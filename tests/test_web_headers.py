"""Security headers on the HTML pages, and not on the API."""

from __future__ import annotations

from flask.testing import FlaskClient


def test_pages_carry_a_strict_content_security_policy(client: FlaskClient) -> None:
    for path in ("/", "/login", "/compare"):
        response = client.get(path)
        policy = response.headers["Content-Security-Policy"]
        assert "script-src 'self';" in policy and "frame-ancestors 'none'" in policy
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["X-Frame-Options"] == "DENY"


def test_the_api_and_its_docs_go_without(client: FlaskClient) -> None:
    # Swagger UI needs its inline initialiser; JSON needs no policy.
    for path in ("/api/problems", "/api/docs"):
        assert "Content-Security-Policy" not in client.get(path).headers
