"""Sign-in and sign-up are rate limited per client address (Flask-Limiter)."""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask

from tests.support.forms import csrf_from


def test_too_many_sign_in_attempts_get_a_429_page(
    make_app: Callable[..., Flask], make_user: Callable[..., int]
) -> None:
    app = make_app(RATELIMIT_ENABLED=True, SIGN_IN_RATE_LIMIT="3 per minute")
    make_user("alice")
    attacker = app.test_client()
    attacker.environ_base["REMOTE_ADDR"] = "192.0.2.10"
    token = csrf_from(attacker.get("/login").text)
    wrong = {"name": "alice", "password": "wrong-password", "csrf_token": token}
    assert [attacker.post("/login", data=wrong).status_code for _ in range(3)] == [422] * 3
    refused = attacker.post("/login", data=wrong, headers={"Referer": "http://localhost/login"})
    assert refused.status_code == 429
    assert refused.mimetype == "text/html"
    assert "Too many requests" in refused.text
    wait = int(refused.headers["Retry-After"])  # truncated; the page rounds up
    assert any(f"Try again in {n} second" in refused.text for n in (wait, wait + 1))
    assert '<a class="button" href="/login">Go back</a>' in refused.text  # back to the form
    assert attacker.get("/login").status_code == 200  # the form itself is not limited

    other = app.test_client()
    other.environ_base["REMOTE_ADDR"] = "192.0.2.11"
    token = csrf_from(other.get("/login").text)
    response = other.post("/login", data={**wrong, "csrf_token": token})
    assert response.status_code == 422  # another address still may try
