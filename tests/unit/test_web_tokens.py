"""API tokens from the account page: created and shown once, listed, revoked (test client)."""

from __future__ import annotations

import re
from collections.abc import Callable

from flask import Flask
from flask.testing import FlaskClient

from practice_app import services
from tests.support.auth import bearer
from tests.support.forms import field_errors, flashes, post_form

TOKEN = re.compile(r'id="new-token"[^>]*value="(pp_[A-Za-z0-9_-]+)"')


def create_token(client: FlaskClient, label: str = "laptop") -> str:
    response = post_form(client, "/account/tokens", {"label": label}, page="/account/tokens")
    assert response.status_code == 303
    assert response.headers["Location"] == "/account/tokens"
    page = client.get("/account/tokens")
    match = TOKEN.search(page.text)
    assert match, "the new token is not on the page"
    return match.group(1)


def test_tokens_page_needs_a_signed_in_user(client: FlaskClient) -> None:
    response = client.get("/account/tokens")
    assert response.status_code == 303
    assert response.headers["Location"] == "/login?next=/account/tokens"


def test_a_new_token_is_shown_once_and_works(app: Flask, alice: FlaskClient) -> None:
    response = post_form(alice, "/account/tokens", {"label": "laptop"}, page="/account/tokens")
    assert response.status_code == 303
    page = alice.get("/account/tokens")
    assert "Token created. Copy it now: it will not be shown again." in flashes(page.text)
    token = TOKEN.search(page.text)
    assert token
    # listed with its label and prefix
    assert '<td data-label="Label">laptop</td>' in page.text
    assert f"<code>{token.group(1)[:10]}…</code>" in page.text
    # once: the next render no longer has it
    again = alice.get("/account/tokens").text
    assert token.group(1) not in again
    assert 'id="new-token"' not in again
    # only its hash is stored
    with app.app_context():
        user = services.find_user("alice")
        assert user is not None
        assert [row.label for row in user.tokens] == ["laptop"]
        assert token.group(1) not in user.tokens[0].token_hash
    created = alice.post("/api/problems", json={"name": "By token"}, headers=bearer(token.group(1)))
    assert created.status_code == 201


def test_revoke_makes_the_token_fail_with_401(app: Flask, alice: FlaskClient) -> None:
    token = create_token(alice)
    with app.app_context():
        user = services.find_user("alice")
        assert user is not None
        token_id = user.tokens[0].id
    page = alice.get("/account/tokens").text
    assert f'action="/account/tokens/{token_id}/revoke"' in page
    response = post_form(alice, f"/account/tokens/{token_id}/revoke", {}, page="/account/tokens")
    assert response.status_code == 303
    assert response.headers["Location"] == "/account/tokens"
    page = alice.get("/account/tokens").text
    assert any(text.startswith("Revoked the token pp_") for text in flashes(page))
    assert "Revoked <time" in page
    assert f'action="/account/tokens/{token_id}/revoke"' not in page
    refused = alice.post("/api/problems", json={"name": "Nope"}, headers=bearer(token))
    assert refused.status_code == 401
    assert refused.headers["WWW-Authenticate"].startswith("Bearer")


def test_revoke_without_csrf_is_400_and_the_token_still_works(
    app: Flask, alice: FlaskClient
) -> None:
    token = create_token(alice)
    with app.app_context():
        user = services.find_user("alice")
        assert user is not None
        token_id = user.tokens[0].id
    assert alice.post(f"/account/tokens/{token_id}/revoke").status_code == 400
    response = alice.post("/api/problems", json={"name": "Still"}, headers=bearer(token))
    assert response.status_code == 201


def test_someone_elses_token_cannot_be_revoked(
    app: Flask,
    alice: FlaskClient,
    make_user: Callable[..., int],
    make_token: Callable[[str], str],
) -> None:
    make_user("bob")
    bobs = make_token("bob")
    with app.app_context():
        bob = services.find_user("bob")
        assert bob is not None
        token_id = bob.tokens[0].id
    response = post_form(alice, f"/account/tokens/{token_id}/revoke", {}, page="/account/tokens")
    assert response.status_code == 404
    assert (
        alice.post("/api/problems", json={"name": "Bob's"}, headers=bearer(bobs)).status_code == 201
    )
    assert post_form(alice, "/account/tokens/99999999999999999999/revoke", {}).status_code == 404


def test_a_label_too_long_is_422_beside_the_field(alice: FlaskClient) -> None:
    response = post_form(alice, "/account/tokens", {"label": "x" * 81}, page="/account/tokens")
    assert response.status_code == 422
    assert field_errors(response.text, "label") == ["At most 80 characters."]


def test_create_token_without_csrf_is_400_and_makes_none(app: Flask, alice: FlaskClient) -> None:
    assert alice.post("/account/tokens", data={"label": "x"}).status_code == 400
    with app.app_context():
        user = services.find_user("alice")
        assert user is not None
        assert user.tokens == []
