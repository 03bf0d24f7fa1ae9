"""Sessions and files, against gunicorn -w 3 (one server for the module).

Signing in starts a new session: a CSRF token from before it is refused.
Signing out ends every cookie of the user's sessions, copies included. The
database file (and its -wal and -shm) and the secret key are the owner's alone;
unit/test_sessions_files.py checks the app makes them so when it starts.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.support.auth import PASSWORD
from tests.support.forms import csrf_from
from tests.support.http import register
from tests.support.servers import LiveServer, start_server, stop_server


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    # The usual umask, so a file the app leaves to the default mode is 0644.
    umask = os.umask(0o022)
    try:
        live = start_server(
            tmp_path_factory.mktemp("sessions"), extra_env={"FLASK_RATELIMIT_ENABLED": "false"}
        )
    finally:
        os.umask(umask)
    yield live
    stop_server(live)


def page_token(http: requests.Session, server: LiveServer, path: str) -> str:
    """GET a page with a form in this session; return its CSRF token."""
    response = http.get(server.url(path), timeout=10)
    assert response.status_code == 200, response.status_code
    return csrf_from(response.text)


def whoami(server: LiveServer, http: requests.Session | None = None, **cookies: str) -> str | None:
    response = (http or requests).get(server.url("/api/whoami"), cookies=cookies, timeout=10)
    user = response.json()["user"]
    return user["name"] if user else None


def sign_in(
    http: requests.Session, server: LiveServer, name: str, token: str, *, remember: bool = False
) -> None:
    data = {"name": name, "password": PASSWORD, "csrf_token": token}
    if remember:
        data["remember"] = "y"
    response = http.post(server.url("/login"), data=data, allow_redirects=False, timeout=10)
    assert response.status_code == 303, response.text


def create_problem(
    http: requests.Session, server: LiveServer, name: str, token: str
) -> requests.Response:
    return http.post(
        server.url("/problems/new"),
        data={"name": name, "difficulty": "easy", "tags": "", "statement": "", "csrf_token": token},
        allow_redirects=False,
        timeout=10,
    )


def problem_exists(server: LiveServer, name: str) -> bool:
    response = requests.get(server.url("/api/search"), params={"q": name}, timeout=10)
    assert response.status_code == 200
    return any(problem["name"] == name for problem in response.json())


# -- signing in starts a new session -----------------------------------------------------


def test_a_csrf_token_from_before_signing_in_is_refused_after(server: LiveServer) -> None:
    register(server, "ann", PASSWORD)
    http = requests.Session()
    planted = page_token(http, server, "/login")  # what whoever planted the cookie knows
    sign_in(http, server, "ann", planted)
    assert whoami(server, http) == "ann"

    refused = create_problem(http, server, "Planted before sign-in", planted)
    assert refused.status_code == 400
    assert "form has expired" in refused.text
    assert not problem_exists(server, "Planted before sign-in")
    refused = http.post(
        server.url("/logout"), data={"csrf_token": planted}, allow_redirects=False, timeout=10
    )
    assert refused.status_code == 400
    assert whoami(server, http) == "ann"

    fresh = page_token(http, server, "/problems/new")
    assert create_problem(http, server, "Planted before sign-in", fresh).status_code == 303
    assert problem_exists(server, "Planted before sign-in")


def test_a_csrf_token_from_before_signing_up_is_refused_after(server: LiveServer) -> None:
    http = requests.Session()
    planted = page_token(http, server, "/register")
    response = http.post(
        server.url("/register"),
        data={"name": "bea", "password": PASSWORD, "confirm": PASSWORD, "csrf_token": planted},
        allow_redirects=False,
        timeout=10,
    )
    assert response.status_code == 303
    assert whoami(server, http) == "bea"
    # The flash and the redirect survive the new session.
    assert "Welcome, bea." in http.get(server.url(response.headers["Location"]), timeout=10).text

    refused = create_problem(http, server, "Planted before sign-up", planted)
    assert refused.status_code == 400
    assert "form has expired" in refused.text
    assert not problem_exists(server, "Planted before sign-up")


def test_signing_in_keeps_next_and_the_flash(server: LiveServer) -> None:
    register(server, "eve", PASSWORD)
    http = requests.Session()
    token = page_token(http, server, "/login?next=/problems/new")
    response = http.post(
        server.url("/login"),
        data={"name": "eve", "password": PASSWORD, "next": "/problems/new", "csrf_token": token},
        allow_redirects=False,
        timeout=10,
    )
    assert response.status_code == 303
    assert response.headers["Location"] == "/problems/new"
    page = http.get(server.url("/problems/new"), allow_redirects=False, timeout=10)
    assert page.status_code == 200
    assert "Signed in as eve." in page.text


# -- signing out ends every cookie ---------------------------------------------------------


def test_after_signing_out_no_cookie_of_the_session_signs_anyone_in(server: LiveServer) -> None:
    register(server, "cat", PASSWORD)
    http = requests.Session()
    sign_in(http, server, "cat", page_token(http, server, "/login"), remember=True)
    copies = [
        {"session": http.cookies["session"]},
        {"remember_token": http.cookies["remember_token"]},
    ]
    other_device = requests.Session()
    sign_in(other_device, server, "cat", page_token(other_device, server, "/login"))
    for cookies in copies:  # each copy alone signs in, until...
        assert whoami(server, **cookies) == "cat"

    token = page_token(http, server, "/account/tokens")
    response = http.post(
        server.url("/logout"), data={"csrf_token": token}, allow_redirects=False, timeout=10
    )
    assert response.status_code == 303

    assert whoami(server, http) is None
    for cookies in copies:
        assert whoami(server, **cookies) is None, cookies
        page = requests.get(
            server.url("/problems/new"), cookies=cookies, allow_redirects=False, timeout=10
        )
        assert page.status_code == 303, cookies
        assert page.headers["Location"].startswith("/login"), cookies
    # Signing out signs the user out on every device.
    assert whoami(server, other_device) is None
    # and signing in again works.
    sign_in(http, server, "cat", page_token(http, server, "/login"))
    assert whoami(server, http) == "cat"


# -- private files -----------------------------------------------------------------------------


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.sqlite_only(reason="the SQLite file's and its WAL's permissions")
def test_the_database_its_wal_and_the_secret_key_are_private(server: LiveServer) -> None:
    http = register(server, "dan", PASSWORD)
    token = page_token(http, server, "/problems/new")
    assert create_problem(http, server, "Written to the WAL", token).status_code == 303
    database = server.instance.parent / "e2e.sqlite3"
    files = [
        database,
        database.with_name(database.name + "-wal"),
        database.with_name(database.name + "-shm"),
        server.instance / "secret_key",
    ]
    modes = {path.name: oct(mode_of(path)) for path in files}  # each exists while serving
    assert all(mode_of(path) & 0o077 == 0 for path in files), modes
