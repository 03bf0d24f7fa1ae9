"""What any answer shows a client, against gunicorn (3 workers): /metrics hidden from those who
may not read it, 204s without a Content-Type, Retry-After only with a 429 or 503, and long
request lines answered by the app.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.support.auth import bearer
from tests.support.servers import LiveServer, start_server, stop_server

PASSWORD = "headers-password-1"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    server = start_server(tmp_path_factory.mktemp("headers"), workers=3)
    yield server
    stop_server(server)


def send(
    server: LiveServer,
    method: str,
    path: str,
    headers: dict[str, str] | None = None,
    **kwargs: object,
) -> requests.Response:
    """One request on a new connection, so that successive ones spread over the workers."""
    return requests.request(
        method,
        server.url(path),
        headers={"Connection": "close", **(headers or {})},
        allow_redirects=False,
        timeout=10,
        **kwargs,  # type: ignore[arg-type]
    )


# -- /metrics, to those who may not read it ---------------------------------------------

METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "PROPFIND")
SPELLINGS = ("/metrics", "//metrics", "///metrics", "/metrics/", "/metrics?x=1")
# What differs between any two answers, whatever their path.
PER_ANSWER = {"x-request-id", "date", "content-length"}


def seen(response: requests.Response) -> tuple[int, bytes, dict[str, str]]:
    """The status, body and headers of an answer, each answer's own values left out."""
    headers = {
        name.lower(): "" if name.lower() in PER_ANSWER else value
        for name, value in response.headers.items()
    }
    return response.status_code, response.content, headers


def test_to_others_every_method_and_spelling_of_metrics_answers_as_an_unknown_path(
    server: LiveServer, token: str
) -> None:
    proxied = {"X-Forwarded-For": "203.0.113.9"}
    for headers in (proxied, {**proxied, **bearer(token)}):
        for method in METHODS:
            for spelling in SPELLINGS:
                elsewhere = spelling.replace("metrics", "metricz")
                unknown = seen(send(server, method, elsewhere, headers))
                assert unknown[0] == 404, (method, elsewhere)
                assert seen(send(server, method, spelling, headers)) == unknown, (method, spelling)


def test_metrics_still_answer_this_machine_and_an_admin(server: LiveServer, admin: str) -> None:
    for headers in ({}, {"X-Forwarded-For": "203.0.113.9", **bearer(admin)}):
        response = send(server, "GET", "/metrics", headers)
        assert response.status_code == 200
        assert response.headers["Content-Type"].startswith("text/plain")
        assert "practice_requests_total" in response.text
        assert send(server, "HEAD", "/metrics", headers).status_code == 200


# -- 204s and Retry-After -----------------------------------------------------------------


def test_a_204_has_no_body_and_no_content_type(server: LiveServer, token: str) -> None:
    created = send(server, "POST", "/api/problems", bearer(token), json={"name": "Deleted soon"})
    assert created.status_code == 201
    deleted = send(server, "DELETE", f"/api/problems/{created.json()['id']}", bearer(token))
    options = [send(server, "OPTIONS", path) for path in ("/api/problems", "/api/problems/1", "/")]
    for response in (deleted, *options):
        assert response.status_code == 204, response.request.url
        assert response.content == b""
        assert "Content-Type" not in response.headers, response.request.url
        assert "X-Request-ID" in response.headers


def test_a_successful_write_carries_no_retry_after(server: LiveServer, token: str) -> None:
    created = send(server, "POST", "/api/problems", bearer(token), json={"name": "Unhurried"})
    assert created.status_code == 201
    changed = send(
        server,
        "PATCH",
        f"/api/problems/{created.json()['id']}",
        bearer(token),
        json={"difficulty": "hard"},
    )
    assert changed.status_code == 200
    for response in (created, changed):
        assert "Retry-After" not in response.headers
        assert int(response.headers["X-RateLimit-Limit"]) > 0  # the limit's own headers stay


def test_a_429_still_says_when_to_retry(tmp_path: Path) -> None:
    server = start_server(
        tmp_path, workers=1, extra_env={"FLASK_API_WRITE_RATE_LIMIT": "2 per minute"}
    )
    try:
        token = server.user_token("hasty", PASSWORD)
        answers = [
            send(server, "POST", "/api/problems", bearer(token), json={"name": f"Hasty {i}"})
            for i in range(3)
        ]
        assert [a.status_code for a in answers] == [201, 201, 429]
        assert ["Retry-After" in a.headers for a in answers] == [False, False, True]
        assert int(answers[-1].headers["Retry-After"]) > 0
        assert answers[-1].headers["X-RateLimit-Remaining"] == "0"
    finally:
        stop_server(server)


# -- long request lines -------------------------------------------------------------------

# gunicorn's largest request line (gunicorn.conf.py), the request line's CRLF left out.
LONGEST_LINE = 8190


@pytest.mark.parametrize("start", ["/api/search?q=", "/api/problems?x="])
def test_a_request_line_of_8190_bytes_gets_the_apps_json_answer(
    server: LiveServer, start: str
) -> None:
    path = start + "a" * (LONGEST_LINE - len(f"GET {start} HTTP/1.1"))
    assert len(f"GET {path} HTTP/1.1") == LONGEST_LINE
    response = send(server, "GET", path)
    assert response.status_code < 500, response.text[:200]
    assert response.headers["Content-Type"] == "application/json"
    assert isinstance(response.json(), list | dict)
    assert re.fullmatch(r"[0-9a-f]{32}", response.headers["X-Request-ID"])
