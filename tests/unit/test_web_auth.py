"""Register, sign in, sign out, and where ``next=`` may send people (test client)."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient

from practice_app import services
from practice_app.web.helpers import safe_next
from tests.support.auth import PASSWORD
from tests.support.forms import csrf_token, field_errors, flashes, input_value, post_form


def whoami(client: FlaskClient) -> str | None:
    user = client.get("/api/whoami").get_json()["user"]
    return user["name"] if user else None


def user_exists(app: Flask, name: str) -> bool:
    with app.app_context():
        return services.find_user(name) is not None


# -- register -----------------------------------------------------------------------


def test_register_creates_the_account_signs_in_and_redirects_303(
    app: Flask, client: FlaskClient
) -> None:
    page = client.get("/register")
    assert page.status_code == 200
    for field in ("name", "password", "confirm"):
        assert f'for="{field}"' in page.text  # every field has its label
    response = post_form(
        client,
        "/register",
        {"name": "carol", "password": PASSWORD, "confirm": PASSWORD},
        page="/register",
    )
    assert response.status_code == 303
    assert response.headers["Location"] == "/"
    assert any("Welcome, carol" in text for text in flashes(client.get("/").text))
    assert user_exists(app, "carol")
    assert whoami(client) == "carol"


def test_register_with_bad_fields_is_422_with_errors_beside_them(
    app: Flask, client: FlaskClient
) -> None:
    response = post_form(
        client,
        "/register",
        {"name": "x y", "password": "short", "confirm": "short"},
        page="/register",
    )
    assert response.status_code == 422
    assert field_errors(response.text, "name") == [
        "2 to 40 characters: letters, digits, '.', '_' or '-'."
    ]
    assert field_errors(response.text, "password") == ["Between 8 and 256 characters."]
    assert input_value(response.text, "name") == "x y"
    assert input_value(response.text, "password") == ""  # passwords are never sent back
    assert not user_exists(app, "x y")


def test_register_with_mismatched_passwords_is_422(client: FlaskClient) -> None:
    response = post_form(
        client,
        "/register",
        {"name": "carol", "password": PASSWORD, "confirm": PASSWORD + "x"},
        page="/register",
    )
    assert response.status_code == 422
    assert field_errors(response.text, "confirm") == ["The two passwords differ."]


def test_register_a_taken_name_is_an_error_beside_the_name(
    client: FlaskClient, make_user: Callable[..., int]
) -> None:
    make_user("alice")
    response = post_form(
        client,
        "/register",
        {"name": "ALICE", "password": PASSWORD, "confirm": PASSWORD},
        page="/register",
    )
    assert response.status_code == 422
    assert field_errors(response.text, "name") == ["This name is taken."]


def test_register_without_csrf_is_400_and_creates_nobody(app: Flask, client: FlaskClient) -> None:
    response = client.post(
        "/register", data={"name": "mallory", "password": PASSWORD, "confirm": PASSWORD}
    )
    assert response.status_code == 400
    assert "form has expired" in response.text
    assert not user_exists(app, "mallory")


# -- sign in -------------------------------------------------------------------------


def test_login_signs_in_with_a_303_and_a_flash(
    client: FlaskClient, make_user: Callable[..., int]
) -> None:
    make_user("alice")
    response = post_form(client, "/login", {"name": "Alice", "password": PASSWORD})
    assert response.status_code == 303
    assert response.headers["Location"] == "/"
    page = client.get("/")
    assert "Signed in as alice." in flashes(page.text)
    assert "alice · Tokens" in page.text and "Sign out" in page.text
    assert whoami(client) == "alice"


def test_login_with_a_wrong_password_is_422_and_keeps_the_name(
    client: FlaskClient, make_user: Callable[..., int]
) -> None:
    make_user("alice")
    response = post_form(client, "/login", {"name": "alice", "password": "wrong-password"})
    assert response.status_code == 422
    assert "That name and password do not match an account." in response.text
    assert input_value(response.text, "name") == "alice"
    assert whoami(client) is None


def test_login_with_empty_fields_is_422_beside_each(client: FlaskClient) -> None:
    response = post_form(client, "/login", {"name": "", "password": ""})
    assert response.status_code == 422
    assert field_errors(response.text, "name") == ["Enter your name."]
    assert field_errors(response.text, "password") == ["Enter your password."]


def test_login_without_csrf_is_400(client: FlaskClient, make_user: Callable[..., int]) -> None:
    make_user("alice")
    response = client.post("/login", data={"name": "alice", "password": PASSWORD})
    assert response.status_code == 400
    assert whoami(client) is None


def test_login_goes_to_a_local_next(client: FlaskClient, make_user: Callable[..., int]) -> None:
    make_user("alice")
    page = client.get("/login?next=/problems/new")
    assert input_value(page.text, "next") == "/problems/new"
    token = csrf_token(client, "/login?next=/problems/new")
    response = client.post(
        "/login",
        data={"name": "alice", "password": PASSWORD, "next": "/problems/new", "csrf_token": token},
    )
    assert response.status_code == 303
    assert response.headers["Location"] == "/problems/new"
    assert client.get("/problems/new").status_code == 200


@pytest.mark.parametrize(
    "target",
    [
        "//evil.example/",
        "https://evil.example/",
        "http:/evil.example",
        "/\\evil.example",
        "\\\\evil.example",
        "/\t/evil.example",
        "javascript:alert(1)",
        "evil.example",
    ],
)
def test_login_refuses_to_send_anyone_off_site(
    client: FlaskClient, make_user: Callable[..., int], target: str
) -> None:
    make_user("alice")
    page = client.get("/login", query_string={"next": target})
    assert input_value(page.text, "next") == ""
    response = post_form(client, "/login", {"name": "alice", "password": PASSWORD, "next": target})
    assert response.status_code == 303
    assert response.headers["Location"] == "/"


def test_safe_next_keeps_paths_and_queries_only() -> None:
    assert safe_next("/problems/1?tab=x") == "/problems/1?tab=x"
    assert safe_next("/") == "/"
    for bad in (None, "", "//x", "/\\x", "https://x/", "x", "/a\nb", "/a\x7fb"):
        assert safe_next(bad) is None, bad


def test_the_login_link_from_a_protected_page_round_trips(
    client: FlaskClient, make_user: Callable[..., int]
) -> None:
    make_user("alice")
    first = client.get("/account/tokens")
    assert first.status_code == 303
    login_url = first.headers["Location"]
    assert login_url == "/login?next=/account/tokens"
    page = client.get(login_url)
    assert "Sign in to continue." in flashes(page.text)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page.text)
    assert token
    response = client.post(
        "/login",
        data={
            "name": "alice",
            "password": PASSWORD,
            "next": input_value(page.text, "next"),
            "csrf_token": token.group(1),
        },
    )
    assert response.headers["Location"] == "/account/tokens"


# -- sign out --------------------------------------------------------------------------


def test_logout_is_post_only(client: FlaskClient, make_user: Callable[..., int]) -> None:
    make_user("alice")
    post_form(client, "/login", {"name": "alice", "password": PASSWORD})
    response = client.get("/logout")
    assert response.status_code == 405
    assert "POST" in response.headers["Allow"]
    assert response.mimetype == "text/html"
    assert whoami(client) == "alice"


def test_logout_without_csrf_is_400_and_keeps_the_session(
    client: FlaskClient, make_user: Callable[..., int]
) -> None:
    make_user("alice")
    post_form(client, "/login", {"name": "alice", "password": PASSWORD})
    assert client.post("/logout").status_code == 400
    assert whoami(client) == "alice"


def test_logout_signs_out_with_a_303_and_a_flash(
    client: FlaskClient, make_user: Callable[..., int]
) -> None:
    make_user("alice")
    post_form(client, "/login", {"name": "alice", "password": PASSWORD})
    response = post_form(client, "/logout", {}, page="/")
    assert response.status_code == 303
    assert response.headers["Location"] == "/"
    page = client.get("/")
    assert "You are signed out." in flashes(page.text)
    assert "Sign in" in page.text
    assert whoami(client) is None
