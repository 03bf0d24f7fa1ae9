"""The form actions over real HTTP against gunicorn with 3 workers (no browser).

The contract's promises for forms, checked from outside: CSRF, 303 after
success, 422 with the errors, sign-in redirects, 403, the session cookie read
by /api/whoami on any worker, a form's write seen by every worker's cache, and an
API token made on the account page honoured by every worker until it is revoked there.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
import requests

from tests.support.http import csrf, register
from tests.support.servers import LiveServer


@pytest.fixture(scope="module")
def carol(live_server: LiveServer) -> Iterator[requests.Session]:
    with register(live_server, "carol") as session:
        yield session


def api_names(server: LiveServer) -> list[str]:
    return [p["name"] for p in requests.get(server.url("/api/problems"), timeout=10).json()]


def test_signing_in_is_required_to_create(live_server: LiveServer) -> None:
    response = requests.get(live_server.url("/problems/new"), allow_redirects=False, timeout=10)
    assert response.status_code == 303
    assert response.headers["Location"] == "/login?next=/problems/new"


def test_the_session_cookie_signs_in_on_every_worker(
    live_server: LiveServer, carol: requests.Session
) -> None:
    # gunicorn spreads these over its 3 workers; each must accept the cookie.
    for _ in range(12):
        who = carol.get(live_server.url("/api/whoami"), timeout=10).json()
        assert who["user"] == {"name": "carol", "admin": False}


def test_a_form_without_csrf_is_400_and_writes_nothing(
    live_server: LiveServer, carol: requests.Session
) -> None:
    before = api_names(live_server)
    response = carol.post(
        live_server.url("/problems/new"),
        data={"name": "No Token", "difficulty": "easy", "tags": "", "statement": ""},
        allow_redirects=False,
        timeout=10,
    )
    assert response.status_code == 400
    assert "text/html" in response.headers["Content-Type"]
    assert "expired" in response.text
    assert api_names(live_server) == before


def test_a_form_from_another_origin_is_403_even_with_its_token(
    live_server: LiveServer, carol: requests.Session
) -> None:
    before = api_names(live_server)
    data = {"name": "Cross Site", "difficulty": "easy", "tags": "", "statement": ""}
    for origin in ("http://evil.example", live_server.base_url.replace("127.0.0.1", "localhost")):
        token = csrf(carol, live_server.url("/problems/new"))
        response = carol.post(
            live_server.url("/problems/new"),
            data={**data, "csrf_token": token},
            headers={"Origin": origin},
            allow_redirects=False,
            timeout=10,
        )
        assert response.status_code == 403, origin
        assert "another site" in response.text
    assert api_names(live_server) == before
    token = csrf(carol, live_server.url("/problems/new"))
    same = carol.post(
        live_server.url("/problems/new"),
        data={**data, "csrf_token": token},
        headers={"Origin": live_server.base_url},
        allow_redirects=False,
        timeout=10,
    )
    assert same.status_code == 303
    assert "Cross Site" in api_names(live_server)


def test_invalid_input_is_422_with_the_error_and_the_typed_values(
    live_server: LiveServer, carol: requests.Session
) -> None:
    token = csrf(carol, live_server.url("/problems/new"))
    response = carol.post(
        live_server.url("/problems/new"),
        data={
            "name": "Tagged",
            "difficulty": "easy",
            "tags": "Not A Tag",
            "statement": "kept",
            "csrf_token": token,
        },
        allow_redirects=False,
        timeout=10,
    )
    assert response.status_code == 422
    assert "Each tag is 1 to 30 characters" in response.text
    assert "kept" in response.text
    assert "Tagged" not in api_names(live_server)


def test_a_form_write_is_seen_by_every_worker_and_others_get_403(
    live_server: LiveServer, carol: requests.Session
) -> None:
    for _ in range(9):  # every worker holds the list as a hit
        requests.get(live_server.url("/api/problems"), timeout=10)
    token = csrf(carol, live_server.url("/problems/new"))
    created = carol.post(
        live_server.url("/problems/new"),
        data={
            "name": "Made By Form",
            "difficulty": "hard",
            "tags": "forms",
            "statement": "From a form.",
            "csrf_token": token,
        },
        allow_redirects=False,
        timeout=10,
    )
    assert created.status_code == 303
    location = created.headers["Location"]
    assert re.fullmatch(r"/problems/\d+", location)
    page = carol.get(live_server.url(location), timeout=10)
    assert "Made By Form" in page.text
    for _ in range(20):
        assert "Made By Form" in api_names(live_server)

    with register(live_server, "mallory") as mallory:
        token = csrf(mallory, live_server.url("/problems/new"))
        edit = mallory.post(
            live_server.url(f"{location}/edit"),
            data={
                "name": "Hijacked",
                "difficulty": "easy",
                "tags": "",
                "statement": "",
                "csrf_token": token,
            },
            allow_redirects=False,
            timeout=10,
        )
        assert edit.status_code == 403
        assert "text/html" in edit.headers["Content-Type"]
        delete = mallory.post(
            live_server.url(f"{location}/delete"),
            data={"csrf_token": token},
            allow_redirects=False,
            timeout=10,
        )
        assert delete.status_code == 403
    assert "Made By Form" in api_names(live_server)

    token = csrf(carol, live_server.url(location))
    deleted = carol.post(
        live_server.url(f"{location}/delete"),
        data={"csrf_token": token},
        allow_redirects=False,
        timeout=10,
    )
    assert deleted.status_code == 303
    for _ in range(20):
        assert "Made By Form" not in api_names(live_server)


def test_pages_answer_head_options_and_405(live_server: LiveServer) -> None:
    head = requests.head(live_server.url("/"), timeout=10)
    assert head.status_code == 200 and head.content == b""
    options = requests.options(live_server.url("/login"), timeout=10)
    assert options.status_code == 204
    assert set(options.headers["Allow"].replace(" ", "").split(",")) == {
        "GET",
        "HEAD",
        "POST",
        "OPTIONS",
    }
    logout = requests.get(live_server.url("/logout"), timeout=10)
    assert logout.status_code == 405 and "POST" in logout.headers["Allow"]
    assert "text/html" in logout.headers["Content-Type"]
    assert "To sign out, use the Sign out button" in logout.text  # how to do it, as /compare says
    for path in ("/problems/1/delete", "/account/tokens/1/revoke"):
        refused = requests.get(live_server.url(path), timeout=10)
        assert refused.status_code == 405 and "POST" in refused.headers["Allow"], path


_NEW_TOKEN = re.compile(r'id="new-token"[^>]*value="(pp_[A-Za-z0-9_-]+)"')
_REVOKE = re.compile(r'action="(/account/tokens/\d+/revoke)"')


def test_a_token_from_the_account_page_works_on_every_worker_until_revoked(
    live_server: LiveServer,
) -> None:
    with register(live_server, "erin") as erin:
        form = {"label": "laptop", "csrf_token": csrf(erin, live_server.url("/account/tokens"))}
        made = erin.post(live_server.url("/account/tokens"), data=form, timeout=10)
        assert made.status_code == 200  # after the 303, the page that shows it once
        found = _NEW_TOKEN.search(made.text)
        assert found, "the new token is not on the page"
        auth = {"Authorization": f"Bearer {found.group(1)}", "Connection": "close"}
        # New connections, spread over the 3 workers: the token and its user on each.
        for _ in range(9):
            who = requests.get(live_server.url("/api/whoami"), headers=auth, timeout=10)
            assert who.json()["user"] == {"name": "erin", "admin": False}
        created = requests.post(
            live_server.url("/api/problems"), json={"name": "By Erin"}, headers=auth, timeout=10
        )
        assert created.status_code == 201
        assert created.json()["author"] == "erin"

        page = erin.get(live_server.url("/account/tokens"), timeout=10).text
        revoke = _REVOKE.search(page)
        assert revoke
        token = csrf(erin, live_server.url("/account/tokens"))
        gone = erin.post(
            live_server.url(revoke.group(1)),
            data={"csrf_token": token},
            allow_redirects=False,
            timeout=10,
        )
        assert gone.status_code == 303
    for _ in range(9):
        who = requests.get(live_server.url("/api/whoami"), headers=auth, timeout=10)
        assert who.status_code == 401
        assert who.headers["WWW-Authenticate"].startswith("Bearer")
        assert who.json().keys() == {"error"}
    refused = requests.post(
        live_server.url("/api/problems"), json={"name": "Not Erin"}, headers=auth, timeout=10
    )
    assert refused.status_code == 401
    assert refused.headers["WWW-Authenticate"].startswith("Bearer")
    names = [p["name"] for p in requests.get(live_server.url("/api/problems"), timeout=10).json()]
    assert "By Erin" in names and "Not Erin" not in names
