"""The one error handler: HTML pages outside /api/, even when the layout itself fails."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.exc import OperationalError

from practice_app.extensions import db
from tests.support.forms import sign_in


def test_error_page_survives_a_database_that_is_down(
    app: Flask,
    client: FlaskClient,
    make_user: Callable[..., int],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    make_user("alice")
    sign_in(client, "alice")

    def down(*_args: Any, **_kwargs: Any) -> Any:
        raise OperationalError("SELECT 1", {}, Exception("database is down"))

    app.config["PROPAGATE_EXCEPTIONS"] = False
    with app.app_context():
        monkeypatch.setattr(db.session, "get", down)
        monkeypatch.setattr(db.session, "scalars", down)
        response = client.get("/")
    assert response.status_code == 500
    assert response.mimetype == "text/html"
    assert "Something went wrong" in response.get_data(as_text=True)


@pytest.mark.parametrize(
    ("path", "how"),
    [
        ("/logout", "use the Sign out button"),
        ("/problems/1/delete", "use the Delete button on the problem&#39;s page"),
        ("/account/tokens/1/revoke", "use its Revoke button on the API tokens page"),
    ],
)
def test_a_pages_405_says_how_to_do_it(client: FlaskClient, path: str, how: str) -> None:
    response = client.get(path)
    assert response.status_code == 405
    assert sorted(response.headers["Allow"].split(", ")) == ["OPTIONS", "POST"]
    assert response.mimetype == "text/html"
    assert how in response.text
    assert "Method not allowed" in response.text  # the heading still names the status


def test_the_apis_405_and_404_stay_as_the_contract_words_them(client: FlaskClient) -> None:
    assert client.delete("/api/stats").get_json() == {"error": "Method not allowed."}
    assert client.get("/api/problems/999999").get_json() == {"error": "Problem not found"}


def test_a_missing_problem_page_says_a_whole_sentence(client: FlaskClient) -> None:
    page = client.get("/problems/999999")
    assert page.status_code == 404
    assert '<p class="lead">Problem not found.</p>' in page.text


def test_an_expired_form_is_headed_so(client: FlaskClient) -> None:
    page = client.post("/login", data={"name": "x", "password": "y"})
    assert page.status_code == 400
    assert "<h1>Form expired</h1>" in page.text
    assert "Bad request" not in page.text


def test_an_error_page_links_back_to_a_page_of_this_site_only(client: FlaskClient) -> None:
    back = client.get("/problems/999999", headers={"Referer": "http://localhost/?q=tree"})
    assert '<a class="button" href="/?q=tree">Go back</a>' in back.text
    away = client.get("/problems/999999", headers={"Referer": "http://evil.example/"})
    assert "Go back" not in away.text
