"""A client's side of a live server over real HTTP: forms with their CSRF token, accounts
and API tokens."""

from __future__ import annotations

import requests

from tests.support.auth import bearer
from tests.support.forms import csrf_from
from tests.support.servers import LiveServer

# The password of the accounts these helpers make.
E2E_PASSWORD = "e2e-password-1"
TOKEN_PASSWORD = "pw-long-enough"


def csrf(session: requests.Session, url: str) -> str:
    """GET the page at ``url`` in ``session``; return its form's CSRF token."""
    page = session.get(url, timeout=10)
    assert page.status_code == 200, page.status_code
    return csrf_from(page.text)


def register(server: LiveServer, name: str, password: str = E2E_PASSWORD) -> requests.Session:
    """Sign up ``name`` through the form in a session of its own; return that session."""
    session = requests.Session()
    token = csrf(session, server.url("/register"))
    data = {"name": name, "password": password, "confirm": password}
    response = session.post(
        server.url("/register"),
        data={**data, "csrf_token": token},
        allow_redirects=False,
        timeout=10,
    )
    assert response.status_code == 303, response.text
    return session


def create_token(server: LiveServer, name: str = "ed") -> dict[str, str]:
    """Create a user and a token with the CLI; return the Authorization header."""
    return bearer(server.user_token(name, TOKEN_PASSWORD))
