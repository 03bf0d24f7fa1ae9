"""The HTML forms through the test client: CSRF tokens from pages, signing in, reading fields."""

from __future__ import annotations

import re
from html import unescape
from typing import Any

from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from tests.support.auth import PASSWORD

_CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def csrf_from(html: str) -> str:
    """The CSRF token of the first form in ``html``."""
    match = _CSRF.search(html)
    assert match, "no csrf_token input in the page"
    return match.group(1)


def csrf_token(client: FlaskClient, page: str = "/login") -> str:
    """GET a page that has a form and return its CSRF token (tied to this client's session)."""
    response = client.get(page)
    assert response.status_code == 200, response.status_code
    return csrf_from(response.text)


def post_form(
    client: FlaskClient, path: str, data: dict[str, Any], *, page: str | None = None
) -> TestResponse:
    """POST ``data`` with a CSRF token taken from ``page`` (by default the login page)."""
    token = csrf_token(client, page or "/login")
    return client.post(path, data={**data, "csrf_token": token})


def sign_in(client: FlaskClient, name: str = "alice", password: str = PASSWORD) -> None:
    response = post_form(client, "/login", {"name": name, "password": password})
    assert response.status_code == 303, response.text


def field_errors(html: str, field_id: str) -> list[str]:
    """The messages shown beside the field ``field_id`` (in its ``-error`` list)."""
    match = re.search(rf'<ul class="field__errors" id="{field_id}-error">(.*?)</ul>', html, re.S)
    if not match:
        return []
    items = re.findall(r"<li>(.*?)</li>", match.group(1), re.S)
    return [unescape(re.sub(r"<[^>]+>", "", item)).replace("Error: ", "").strip() for item in items]


def input_value(html: str, field_id: str) -> str | None:
    """The value an ``<input id=field_id>`` carries, or a textarea's content."""
    tag = re.search(rf'<input[^>]*\bid="{field_id}"[^>]*>', html)
    if tag:
        value = re.search(r'\bvalue="([^"]*)"', tag.group(0))
        return unescape(value.group(1)) if value else ""
    area = re.search(rf'<textarea[^>]*\bid="{field_id}"[^>]*>(.*?)</textarea>', html, re.S)
    return unescape(area.group(1)).lstrip("\r\n") if area else None


def flashes(html: str) -> list[str]:
    return [unescape(m) for m in re.findall(r'<p class="flash flash--\w+">(.*?)</p>', html, re.S)]
