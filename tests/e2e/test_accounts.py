"""The account pages over real HTTP against gunicorn with 3 workers (no browser).

Changing the password signs out every other session and remember-me cookie of the
user on every worker, keeps the session that changed it, and leaves API tokens
working: tokens are not sessions (revoke them on the account page). Clearing the
revoked tokens deletes their rows, and they stay refused on every worker.
"""

from __future__ import annotations

import re

import requests

from tests.support.auth import bearer
from tests.support.forms import flashes
from tests.support.http import E2E_PASSWORD, csrf, register
from tests.support.servers import LiveServer

NEW_PASSWORD = "e2e-new-password-2"
# New connections, so gunicorn spreads the requests over its 3 workers.
SPREAD = 9
_NEW_TOKEN = re.compile(r'id="new-token"[^>]*value="(pp_[A-Za-z0-9_-]+)"')
_REVOKE = re.compile(r'action="(/account/tokens/\d+/revoke)"')


def whoami(
    server: LiveServer, session: requests.Session | None = None, **cookies: str
) -> str | None:
    response = (session or requests).get(
        server.url("/api/whoami"), cookies=cookies, headers={"Connection": "close"}, timeout=10
    )
    user = response.json()["user"]
    return user["name"] if user else None


def sign_in(
    server: LiveServer, name: str, password: str, *, remember: bool = False
) -> tuple[requests.Session, int]:
    """Sign in through the form in a new session; return it and the answer's status."""
    session = requests.Session()
    data = {"name": name, "password": password, "csrf_token": csrf(session, server.url("/login"))}
    if remember:
        data["remember"] = "y"
    response = session.post(server.url("/login"), data=data, allow_redirects=False, timeout=10)
    return session, response.status_code


def new_token(server: LiveServer, session: requests.Session, label: str) -> str:
    form = {"label": label, "csrf_token": csrf(session, server.url("/account/tokens"))}
    made = session.post(server.url("/account/tokens"), data=form, timeout=10)
    assert made.status_code == 200  # after the 303, the page that shows it once
    found = _NEW_TOKEN.search(made.text)
    assert found, "the new token is not on the page"
    return found.group(1)


def api_user(server: LiveServer, token: str) -> requests.Response:
    return requests.get(
        server.url("/api/whoami"), headers={**bearer(token), "Connection": "close"}, timeout=10
    )


def test_changing_the_password_signs_out_every_other_session_on_every_worker(
    live_server: LiveServer,
) -> None:
    changer = register(live_server, "dora")
    token = new_token(live_server, changer, "laptop")
    other, status = sign_in(live_server, "dora", E2E_PASSWORD)
    assert status == 303
    remembered, status = sign_in(live_server, "dora", E2E_PASSWORD, remember=True)
    assert status == 303
    remember_cookie = remembered.cookies["remember_token"]
    for _ in range(SPREAD):
        assert whoami(live_server, other) == "dora"
        assert whoami(live_server, remember_token=remember_cookie) == "dora"

    # a wrong current password: 422, nothing changed
    form = {
        "current_password": "not-the-password",
        "password": NEW_PASSWORD,
        "confirm": NEW_PASSWORD,
        "csrf_token": csrf(changer, live_server.url("/account/password")),
    }
    refused = changer.post(
        live_server.url("/account/password"), data=form, allow_redirects=False, timeout=10
    )
    assert refused.status_code == 422
    assert "That is not your current password." in refused.text
    assert whoami(live_server, other) == "dora"

    form["current_password"] = E2E_PASSWORD
    changed = changer.post(
        live_server.url("/account/password"), data=form, allow_redirects=False, timeout=10
    )
    assert changed.status_code == 303
    assert changed.headers["Location"] == "/account/tokens"
    page = changer.get(live_server.url("/account/tokens"), timeout=10)
    assert "Your password has changed; you were signed out everywhere else." in flashes(page.text)

    for _ in range(SPREAD):
        # the session that changed it, on every worker: still signed in
        assert whoami(live_server, changer) == "dora"
        # every other session and the remember-me cookie: signed out, on every worker
        assert whoami(live_server, other) is None
        assert whoami(live_server, remember_token=remember_cookie) is None
        tokens_page = other.get(
            live_server.url("/account/tokens"),
            headers={"Connection": "close"},
            allow_redirects=False,
            timeout=10,
        )
        assert tokens_page.status_code == 303
        assert tokens_page.headers["Location"] == "/login?next=/account/tokens"
        # an API token is not a session: it keeps working
        who = api_user(live_server, token)
        assert who.status_code == 200 and who.json()["user"]["name"] == "dora"

    for password, status in ((E2E_PASSWORD, 422), (NEW_PASSWORD, 303)):
        session, answered = sign_in(live_server, "dora", password)
        session.close()
        assert answered == status, password
    for session in (changer, other, remembered):
        session.close()


def test_a_cleared_revoked_token_stays_refused_on_every_worker(live_server: LiveServer) -> None:
    with register(live_server, "eve") as eve:
        old = new_token(live_server, eve, "old")
        kept = new_token(live_server, eve, "kept")
        page = eve.get(live_server.url("/account/tokens"), timeout=10).text
        revoke = _REVOKE.findall(page)[-1]  # newest first: the last is "old"
        gone = eve.post(
            live_server.url(revoke),
            data={"csrf_token": csrf(eve, live_server.url("/account/tokens"))},
            allow_redirects=False,
            timeout=10,
        )
        assert gone.status_code == 303
        for _ in range(SPREAD):  # every worker has refused it once, before its row goes
            assert api_user(live_server, old).status_code == 401
        cleared = eve.post(
            live_server.url("/account/tokens/clear-revoked"),
            data={"csrf_token": csrf(eve, live_server.url("/account/tokens"))},
            allow_redirects=False,
            timeout=10,
        )
        assert cleared.status_code == 303
        page = eve.get(live_server.url("/account/tokens"), timeout=10).text
        assert "Cleared 1 revoked token." in flashes(page)
        assert 'id="revoked-title"' not in page
    for _ in range(SPREAD):
        refused = api_user(live_server, old)
        assert refused.status_code == 401
        assert refused.headers["WWW-Authenticate"].startswith("Bearer")
        assert api_user(live_server, kept).json()["user"]["name"] == "eve"
