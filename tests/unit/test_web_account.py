"""The account pages through the test client: changing the password (every other session and
remember-me cookie signed out, this one kept), and the revoked tokens kept apart and cleared."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from practice_app import services
from practice_app.errors import FieldErrors
from practice_app.extensions import db
from practice_app.models import ApiToken, User
from practice_app.services import accounts
from tests.support.auth import PASSWORD, bearer
from tests.support.forms import csrf_token, field_errors, flashes, input_value, post_form, sign_in

NEW_PASSWORD = "a-brand-new-password"


def whoami(client: FlaskClient) -> str | None:
    user = client.get("/api/whoami").get_json()["user"]
    return user["name"] if user else None


def change(client: FlaskClient, current: str, new: str, confirm: str | None = None) -> Any:
    return post_form(
        client,
        "/account/password",
        {
            "current_password": current,
            "password": new,
            "confirm": new if confirm is None else confirm,
        },
        page="/account/password",
    )


def signs_in(app: Flask, password: str, name: str = "alice") -> bool:
    with app.app_context():
        return services.authenticate(name, password) is not None


def session_token(app: Flask, name: str = "alice") -> str:
    with app.app_context():
        user = services.find_user(name)
        assert user is not None
        return user.session_token


def remembered_client(app: Flask) -> tuple[FlaskClient, str]:
    """A client signed in with "keep me signed in"; and its remember-me cookie."""
    client = app.test_client()
    response = post_form(client, "/login", {"name": "alice", "password": PASSWORD, "remember": "y"})
    assert response.status_code == 303
    cookie = client.get_cookie("remember_token")
    assert cookie is not None
    return client, cookie.value


def with_only_the_remember_cookie(app: Flask, value: str) -> FlaskClient:
    client = app.test_client()
    client.set_cookie("remember_token", value)
    return client


# -- the page ---------------------------------------------------------------------------


def test_the_password_page_needs_a_signed_in_user(client: FlaskClient) -> None:
    response = client.get("/account/password")
    assert response.status_code == 303
    assert response.headers["Location"] == "/login?next=/account/password"


def test_a_signed_out_post_goes_to_sign_in_and_changes_nothing(
    app: Flask, client: FlaskClient, make_user: Callable[..., int]
) -> None:
    make_user("alice")
    token = csrf_token(client, "/login")
    response = client.post(
        "/account/password",
        data={
            "current_password": PASSWORD,
            "password": NEW_PASSWORD,
            "confirm": NEW_PASSWORD,
            "csrf_token": token,
        },
    )
    assert response.status_code == 303
    assert response.headers["Location"].startswith("/login")
    assert signs_in(app, PASSWORD)


def test_the_password_page_has_its_three_fields_labelled(alice: FlaskClient) -> None:
    page = alice.get("/account/password")
    assert page.status_code == 200
    for field in ("current_password", "password", "confirm"):
        assert f'for="{field}"' in page.text
        assert input_value(page.text, field) == ""
    for field, autocomplete in (
        ("current_password", "current-password"),
        ("password", "new-password"),
        ("confirm", "new-password"),
    ):
        tag = re.search(rf'<input[^>]*\bid="{field}"[^>]*>', page.text)
        assert tag and f'autocomplete="{autocomplete}"' in tag.group(0), field
    # the account's name, for password managers
    assert 'name="username" value="alice" autocomplete="username" hidden' in page.text
    assert "At least 8 characters." in page.text


def test_the_account_page_and_the_nav_link_to_the_password_page(alice: FlaskClient) -> None:
    page = alice.get("/account/tokens").text
    assert re.search(r'<main[^>]*>.*href="/account/password"', page, re.S)
    assert re.search(r'<nav class="nav".*href="/account/password".*</nav>', page, re.S)
    current = alice.get("/account/password").text
    assert 'href="/account/password" aria-current="page"' in current


# -- refused: 422 beside the field, nothing changed ----------------------------------------


def test_a_wrong_current_password_is_422_and_changes_nothing(
    app: Flask, alice: FlaskClient
) -> None:
    before = session_token(app)
    response = change(alice, "not-my-password", NEW_PASSWORD)
    assert response.status_code == 422
    assert field_errors(response.text, "current_password") == ["That is not your current password."]
    assert field_errors(response.text, "password") == []
    assert "Please check the form" in response.text
    assert input_value(response.text, "password") == ""  # passwords are never sent back
    assert signs_in(app, PASSWORD) and not signs_in(app, NEW_PASSWORD)
    assert session_token(app) == before
    assert whoami(alice) == "alice"


def test_a_mismatched_confirmation_is_422_and_changes_nothing(
    app: Flask, alice: FlaskClient
) -> None:
    response = change(alice, PASSWORD, NEW_PASSWORD, NEW_PASSWORD + "x")
    assert response.status_code == 422
    assert field_errors(response.text, "confirm") == ["The two passwords differ."]
    assert signs_in(app, PASSWORD) and not signs_in(app, NEW_PASSWORD)


def test_a_new_password_too_short_is_422_by_the_sign_up_rule(
    app: Flask, alice: FlaskClient
) -> None:
    response = change(alice, PASSWORD, "short")
    assert response.status_code == 422
    assert field_errors(response.text, "password") == ["Between 8 and 256 characters."]
    assert signs_in(app, PASSWORD) and not signs_in(app, "short")


def test_every_mistake_shows_at_once(app: Flask, alice: FlaskClient) -> None:
    # The confirmation differs (the form) and the password is too short (the rule).
    response = change(alice, PASSWORD, "short", "shorter")
    assert response.status_code == 422
    assert field_errors(response.text, "confirm") == ["The two passwords differ."]
    assert field_errors(response.text, "password") == ["Between 8 and 256 characters."]
    # A wrong current password and a new one too long: both beside their fields.
    response = change(alice, "wrong-password", "x" * 257)
    assert response.status_code == 422
    assert field_errors(response.text, "current_password") == ["That is not your current password."]
    assert field_errors(response.text, "password") == ["Between 8 and 256 characters."]
    # Empty fields: what each needs, once.
    response = change(alice, "", "", "")
    assert response.status_code == 422
    assert field_errors(response.text, "current_password") == ["Enter your current password."]
    assert field_errors(response.text, "password") == ["Choose a new password."]
    assert signs_in(app, PASSWORD)


def test_without_csrf_it_is_400_and_changes_nothing(app: Flask, alice: FlaskClient) -> None:
    response = alice.post(
        "/account/password",
        data={"current_password": PASSWORD, "password": NEW_PASSWORD, "confirm": NEW_PASSWORD},
    )
    assert response.status_code == 400
    assert "form has expired" in response.text
    assert signs_in(app, PASSWORD) and not signs_in(app, NEW_PASSWORD)


# -- changed: every other session out, this one in --------------------------------------------


def test_changing_the_password_signs_out_everywhere_else_and_keeps_this_browser(
    app: Flask, alice: FlaskClient
) -> None:
    other = app.test_client()  # another browser, signed in before the change
    sign_in(other, "alice")
    assert other.get("/problems/new").status_code == 200
    remembered, cookie = remembered_client(app)
    assert whoami(with_only_the_remember_cookie(app, cookie)) == "alice"
    old_csrf = csrf_token(alice, "/account/tokens")

    response = change(alice, PASSWORD, NEW_PASSWORD)
    assert response.status_code == 303
    assert response.headers["Location"] == "/account/tokens"
    page = alice.get("/account/tokens")
    assert "Your password has changed; you were signed out everywhere else." in flashes(page.text)

    # the old password no longer signs in; the new one does
    assert not signs_in(app, PASSWORD) and signs_in(app, NEW_PASSWORD)
    refused = post_form(app.test_client(), "/login", {"name": "alice", "password": PASSWORD})
    assert refused.status_code == 422
    # this browser is still signed in, on a new session: the CSRF token from before is refused
    assert whoami(alice) == "alice"
    assert alice.get("/problems/new").status_code == 200
    stale = alice.post("/account/tokens", data={"label": "x", "csrf_token": old_csrf})
    assert stale.status_code == 400
    fresh = post_form(alice, "/account/tokens", {"label": "x"}, page="/account/tokens")
    assert fresh.status_code == 303
    # the other browser is signed out
    again = other.get("/problems/new")
    assert again.status_code == 303
    assert again.headers["Location"] == "/login?next=/problems/new"
    assert whoami(other) is None
    assert whoami(remembered) is None
    # and the remember-me cookie from before signs no one in
    assert whoami(with_only_the_remember_cookie(app, cookie)) is None
    # signing in with the new password works
    sign_in(other, "alice", NEW_PASSWORD)
    assert whoami(other) == "alice"


def test_a_remembered_browser_stays_remembered_with_a_new_cookie(app: Flask) -> None:
    with app.app_context():
        services.create_user("alice", PASSWORD)
    client, old_cookie = remembered_client(app)
    assert change(client, PASSWORD, NEW_PASSWORD).status_code == 303
    new_cookie = client.get_cookie("remember_token")
    assert new_cookie is not None and new_cookie.value != old_cookie
    assert whoami(with_only_the_remember_cookie(app, new_cookie.value)) == "alice"
    assert whoami(with_only_the_remember_cookie(app, old_cookie)) is None


def test_api_tokens_are_not_sessions_and_keep_working(
    alice: FlaskClient, make_token: Callable[[str], str]
) -> None:
    token = make_token("alice")
    assert change(alice, PASSWORD, NEW_PASSWORD).status_code == 303
    who = alice.get("/api/whoami", headers=bearer(token))
    assert who.status_code == 200


def test_a_change_made_meanwhile_wins(
    app: Flask, make_user: Callable[..., int], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The hash is replaced only if it is still the one the current password was checked against."""
    make_user("alice")
    real_check = accounts.check_password_hash

    def check_then_another_change(pwhash: str, password: str) -> bool:
        right = real_check(pwhash, password)
        with db.engine.begin() as connection:  # another request changes it meanwhile
            connection.execute(
                User.__table__.update().values(password_hash=accounts.generate_password_hash("x"))
            )
        return right

    with app.app_context():
        user = services.find_user("alice")
        assert user is not None
        token = user.session_token
        monkeypatch.setattr(accounts, "check_password_hash", check_then_another_change)
        with pytest.raises(FieldErrors) as refused:
            services.change_password(user, PASSWORD, NEW_PASSWORD)
        assert refused.value.details == {"current_password": ["That is not your current password."]}
        monkeypatch.undo()
        db.session.rollback()
        assert services.authenticate("alice", "x") is not None
        assert services.authenticate("alice", NEW_PASSWORD) is None
        assert services.find_user("alice").session_token == token  # type: ignore[union-attr]


def test_changing_the_password_is_rate_limited_like_signing_in(
    make_app: Callable[..., Flask],
) -> None:
    app = make_app(RATELIMIT_ENABLED=True, SIGN_IN_RATE_LIMIT="3 per minute")
    with app.app_context():
        services.create_user("alice", PASSWORD)
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = "192.0.2.20"
    sign_in(client, "alice")  # the sign-in form counts apart
    token = csrf_token(client, "/account/password")
    wrong = {
        "current_password": "guess-number-1",
        "password": NEW_PASSWORD,
        "confirm": NEW_PASSWORD,
        "csrf_token": token,
    }
    assert [client.post("/account/password", data=wrong).status_code for _ in range(3)] == [422] * 3
    refused = client.post("/account/password", data=wrong)
    assert refused.status_code == 429
    assert "Too many requests" in refused.text
    assert client.get("/account/password").status_code == 200  # the form itself is not limited


# -- tokens: revoking asks first; revoked ones apart, and cleared --------------------------------


def token_ids(app: Flask, name: str) -> dict[str, int]:
    with app.app_context():
        user = services.find_user(name)
        assert user is not None
        return {row.label: row.id for row in user.tokens}


def make_labelled_token(app: Flask, name: str, label: str) -> str:
    with app.app_context():
        user = services.find_user(name)
        assert user is not None
        return services.create_token(user, label)[1]


def revoke(app: Flask, name: str, label: str) -> None:
    with app.app_context():
        user = services.find_user(name)
        assert user is not None
        services.revoke_token(user, token_ids(app, name)[label])


def test_revoke_asks_first_in_a_closed_details(app: Flask, alice: FlaskClient) -> None:
    make_labelled_token(app, "alice", "laptop")
    token_id = token_ids(app, "alice")["laptop"]
    page = alice.get("/account/tokens").text
    confirm = re.search(r'<details class="confirm">(.*?)</details>', page, re.S)
    assert confirm, "no confirmation around the revoke button"
    body = confirm.group(1)
    assert re.search(r'<summary class="[^"]*button--danger-outline[^"]*">Revoke…</summary>', body)
    text = re.sub(r"<[^>]+>", "", body)
    assert re.search(
        r"Revoke the token “laptop” \(pp_\S{7}…\)\? Programs using it will get 401\.", text
    )
    assert f'action="/account/tokens/{token_id}/revoke"' in body
    assert re.search(r'name="csrf_token"', body)
    assert ">Revoke token</button>" in body
    assert '<details class="confirm" open' not in page  # closed until opened


def test_a_token_without_a_label_is_named_by_its_prefix(app: Flask, alice: FlaskClient) -> None:
    make_labelled_token(app, "alice", "")
    text = re.sub(r"<[^>]+>", "", alice.get("/account/tokens").text)
    assert re.search(r"Revoke the token \(pp_\S{7}…\)\? Programs using it will get 401\.", text)


def test_revoked_tokens_are_listed_apart_under_a_closed_details(
    app: Flask, alice: FlaskClient
) -> None:
    make_labelled_token(app, "alice", "active-one")
    make_labelled_token(app, "alice", "old-one")
    revoke(app, "alice", "old-one")
    page = alice.get("/account/tokens").text
    active, _, rest = page.partition('id="revoked-title"')
    assert "active-one" in active and "old-one" not in active
    assert "old-one" in rest and "active-one" not in rest
    assert re.search(r'<details class="fold">\s*<summary[^>]*><h2[^>]*id="revoked-title"', page)
    assert "Revoked tokens (1)" in page
    assert "Revoked <time" in rest
    assert 'action="/account/tokens/clear-revoked"' in rest
    # with none revoked, no such section
    post_form(alice, "/account/tokens/clear-revoked", {}, page="/account/tokens")
    assert 'id="revoked-title"' not in alice.get("/account/tokens").text


def test_when_every_token_is_revoked_the_list_says_so(app: Flask, alice: FlaskClient) -> None:
    make_labelled_token(app, "alice", "gone")
    revoke(app, "alice", "gone")
    page = alice.get("/account/tokens").text
    assert "No active tokens; the revoked ones are below." in page
    assert "Revoked tokens (1)" in page


def test_clearing_deletes_only_the_callers_revoked_tokens_and_they_stay_refused(
    app: Flask, alice: FlaskClient, make_user: Callable[..., int]
) -> None:
    make_user("bob")
    cleared = make_labelled_token(app, "alice", "old")
    kept = make_labelled_token(app, "alice", "current")
    bobs = make_labelled_token(app, "bob", "bobs-old")
    revoke(app, "alice", "old")
    revoke(app, "bob", "bobs-old")
    # idempotency keys the revoked token used while it lived go with it
    used = make_labelled_token(app, "alice", "used")
    made = alice.post(
        "/api/problems", json={"name": "Keyed"}, headers={**bearer(used), "Idempotency-Key": "k1"}
    )
    assert made.status_code == 201
    revoke(app, "alice", "used")

    response = post_form(alice, "/account/tokens/clear-revoked", {}, page="/account/tokens")
    assert response.status_code == 303
    assert response.headers["Location"] == "/account/tokens"
    page = alice.get("/account/tokens").text
    assert "Cleared 2 revoked tokens." in flashes(page)

    assert set(token_ids(app, "alice")) == {"current"}
    assert set(token_ids(app, "bob")) == {"bobs-old"}  # someone else's: untouched
    with app.app_context():
        assert services.user_for_token(cleared) is None
        assert services.live_token(cleared) is None
        assert db.session.query(ApiToken).count() == 2
    for token in (cleared, used, bobs):
        refused = alice.post("/api/problems", json={"name": "Nope"}, headers=bearer(token))
        assert refused.status_code == 401
        assert refused.headers["WWW-Authenticate"].startswith("Bearer")
    assert alice.get("/api/whoami", headers=bearer(kept)).get_json()["user"]["name"] == "alice"

    again = post_form(alice, "/account/tokens/clear-revoked", {}, page="/account/tokens")
    assert again.status_code == 303
    assert "There were no revoked tokens to clear." in flashes(alice.get("/account/tokens").text)


def test_clearing_one_says_one(app: Flask, alice: FlaskClient) -> None:
    make_labelled_token(app, "alice", "old")
    revoke(app, "alice", "old")
    post_form(alice, "/account/tokens/clear-revoked", {}, page="/account/tokens")
    assert "Cleared 1 revoked token." in flashes(alice.get("/account/tokens").text)


def test_clearing_needs_csrf_and_a_signed_in_user(
    app: Flask, client: FlaskClient, make_user: Callable[..., int]
) -> None:
    make_user("alice")
    make_labelled_token(app, "alice", "old")
    revoke(app, "alice", "old")
    response = post_form(client, "/account/tokens/clear-revoked", {})
    assert response.status_code == 303
    assert response.headers["Location"].startswith("/login")
    sign_in(client, "alice")
    assert client.post("/account/tokens/clear-revoked").status_code == 400
    assert client.get("/account/tokens/clear-revoked").status_code == 405
    assert set(token_ids(app, "alice")) == {"old"}
