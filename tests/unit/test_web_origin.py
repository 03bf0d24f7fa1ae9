"""A form POST from another site is refused even with a valid CSRF token
(``security.refuse_other_origins``), as Next.js refuses a Server Action whose ``Origin`` is not
its ``Host``; through gunicorn in ``tests/e2e/test_web.py``."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from practice_app.extensions import db
from practice_app.models import Problem
from practice_app.security import OTHER_ORIGIN
from tests.support.forms import csrf_token, sign_in


def count_problems(app: Flask) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Problem)) or 0


@pytest.mark.parametrize(
    "origin",
    [
        "http://evil.example",
        "localhost",
        "http://localhost:8080",
        "null",
        "http://localhost.evil",
    ],
)
def test_a_form_posted_from_another_origin_is_403_and_writes_nothing(
    app: Flask, client: FlaskClient, make_user: Callable[..., int], origin: str
) -> None:
    make_user("alice")
    sign_in(client)
    token = csrf_token(client, "/problems/new")
    before = count_problems(app)
    response = client.post(
        "/problems/new",
        data={"name": "Forged", "difficulty": "easy", "csrf_token": token},
        headers={"Origin": origin},
    )
    assert response.status_code == 403
    assert response.mimetype == "text/html"
    assert OTHER_ORIGIN in response.get_data(as_text=True)
    assert count_problems(app) == before


# The scheme is not compared (a TLS proxy may forward plain HTTP), as in Next.js.
@pytest.mark.parametrize(
    "origin", [None, "http://localhost", "HTTP://LOCALHOST", "https://localhost"]
)
def test_this_sites_origin_or_none_is_left_to_the_token(
    app: Flask, client: FlaskClient, make_user: Callable[..., int], origin: str | None
) -> None:
    make_user("alice")
    sign_in(client)
    token = csrf_token(client, "/problems/new")
    response = client.post(
        "/problems/new",
        data={"name": f"Honest {origin}", "difficulty": "easy", "csrf_token": token},
        headers={"Origin": origin} if origin else {},
    )
    assert response.status_code == 303, response.get_data(as_text=True)


def test_sign_in_from_another_origin_is_refused(
    client: FlaskClient, make_user: Callable[..., int]
) -> None:
    make_user("alice")
    token = csrf_token(client, "/login")
    response = client.post(
        "/login",
        data={"name": "alice", "password": "correct-horse-battery", "csrf_token": token},
        headers={"Origin": "http://evil.example"},
    )
    assert response.status_code == 403
    assert "Set-Cookie" not in response.headers or "remember" not in response.headers["Set-Cookie"]
    assert client.get("/problems/new").status_code == 303  # still signed out


def test_the_api_is_not_concerned(client: FlaskClient) -> None:
    """The API authenticates with bearer tokens, which browsers never attach by themselves."""
    response = client.post(
        "/api/problems", json={"name": "x"}, headers={"Origin": "http://evil.example"}
    )
    assert response.status_code == 401
