"""Request ids, the access log, /metrics and the API write limit, against gunicorn (3 workers)."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.support.auth import WRITER, bearer
from tests.support.metrics import metric
from tests.support.servers import LiveServer, start_server, stop_server

PASSWORD = "operations-password-1"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    server = start_server(tmp_path_factory.mktemp("operations"), workers=3)
    yield server
    stop_server(server)


def fresh_get(
    server: LiveServer, path: str, headers: dict[str, str] | None = None
) -> requests.Response:
    """A GET on a new connection, so that successive ones spread over the workers."""
    return requests.get(
        server.url(path), headers={"Connection": "close", **(headers or {})}, timeout=10
    )


def log_lines_with(server: LiveServer, request_id: str) -> list[str]:
    deadline = time.monotonic() + 5
    while True:  # gunicorn writes the access line just after the response
        lines = [line for line in server.log().splitlines() if f"id={request_id} " in line]
        if lines or time.monotonic() > deadline:
            return lines
        time.sleep(0.05)


# -- request ids ----------------------------------------------------------------------


def test_every_response_has_a_request_id_the_callers_when_sane(
    server: LiveServer, token: str
) -> None:
    fresh_get(server, "/api/problems")
    hit = fresh_get(server, "/api/problems", headers={"X-Request-ID": "trace-1.a_B"})
    assert hit.headers["X-Cache"] == "HIT"
    assert hit.headers["X-Request-ID"] == "trace-1.a_B"
    assert hit.headers["X-Content-Type-Options"] == "nosniff"  # hits too: the contract's headers
    not_modified = fresh_get(
        server, "/api/problems", headers={"If-None-Match": hit.headers["ETag"]}
    )
    assert not_modified.status_code == 304
    assert not_modified.headers["X-Content-Type-Options"] == "nosniff"
    assert re.fullmatch(r"[0-9a-f]{32}", not_modified.headers["X-Request-ID"])
    for insane in ("x" * 129, "has space", "semi;colon", "é"):
        answer = fresh_get(
            server, "/healthz", headers={"X-Request-ID": insane.encode().decode("latin-1")}
        )
        assert re.fullmatch(r"[0-9a-f]{32}", answer.headers["X-Request-ID"]), insane
    created = requests.post(
        server.url("/api/problems"), json={"name": "Traced"}, headers=bearer(token), timeout=10
    )
    assert re.fullmatch(r"[0-9a-f]{32}", created.headers["X-Request-ID"])
    for path in ("/", "/nowhere", "/api/nowhere", "//api/problems"):
        assert (
            "X-Request-ID"
            in requests.get(server.url(path), allow_redirects=False, timeout=10).headers
        )


# -- the access log -------------------------------------------------------------------


def test_one_access_line_a_request_with_no_secret_in_it(server: LiveServer, token: str) -> None:
    """Requests that carry a token, a password, a cookie and ?token=: none of them is logged."""
    secret_query = "qsecret" + uuid.uuid4().hex
    session = requests.Session()
    ids = {}
    ids["hit"] = f"hit-{uuid.uuid4().hex}"
    fresh_get(server, "/api/stats")
    fresh_get(server, "/api/stats", headers={"X-Request-ID": ids["hit"]})
    ids["write"] = f"write-{uuid.uuid4().hex}"
    requests.post(
        server.url("/api/problems"),
        json={"name": "Logged write"},
        headers={**bearer(token), "X-Request-ID": ids["write"]},
        timeout=10,
    )
    ids["query"] = f"query-{uuid.uuid4().hex}"
    requests.get(
        server.url(f"/api/whoami?token={secret_query}"),
        headers={**bearer(token), "X-Request-ID": ids["query"]},
        timeout=10,
    )
    login_page = session.get(server.url("/login"), timeout=10)
    csrf = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', login_page.text)
    assert csrf is not None
    ids["login"] = f"login-{uuid.uuid4().hex}"
    signed_in = session.post(
        server.url("/login"),
        data={"name": WRITER[0], "password": WRITER[1], "csrf_token": csrf.group(1)},
        headers={"X-Request-ID": ids["login"]},
        allow_redirects=False,
        timeout=10,
    )
    assert signed_in.status_code == 303
    cookie = session.cookies.get("session")
    assert cookie
    ids["cookie"] = f"cookie-{uuid.uuid4().hex}"
    session.get(server.url("/account/tokens"), headers={"X-Request-ID": ids["cookie"]}, timeout=10)

    lines = {name: log_lines_with(server, rid) for name, rid in ids.items()}
    assert all(len(found) == 1 for found in lines.values()), lines
    hit = lines["hit"][0]
    assert '"GET /api/stats" 200' in hit and re.search(r" \d+ms user=- *$", hit), hit
    assert '"POST /api/problems" 201' in lines["write"][0]
    assert lines["write"][0].rstrip().endswith(f"user={WRITER[0]}")
    assert '"GET /api/whoami" 200' in lines["query"][0]
    assert '"POST /login" 303' in lines["login"][0]
    assert lines["cookie"][0].rstrip().endswith(f"user={WRITER[0]}")
    log = server.log()
    for secret in (token, WRITER[1], cookie, secret_query, csrf.group(1)):
        assert secret not in log


# -- metrics --------------------------------------------------------------------------


def test_metrics_sum_every_worker(server: LiveServer, token: str) -> None:
    before = fresh_get(server, "/metrics").text
    route = "/api/problems/<problem_id:problem_id>"
    problem = requests.post(
        server.url("/api/problems"), json={"name": "Metered"}, headers=bearer(token), timeout=10
    ).json()
    for _ in range(30):  # new connections spread over the three workers
        response = fresh_get(server, f"/api/problems/{problem['id']}")
        assert response.status_code == 200
    after = fresh_get(server, "/metrics")
    assert after.headers["Content-Type"].startswith("text/plain")
    text = after.text
    requested = metric(text, "practice_requests_total", route=route, method="GET", status="200")
    assert (
        requested
        - metric(before, "practice_requests_total", route=route, method="GET", status="200")
        == 30
    )
    hits = metric(text, "practice_cache_results_total", route=route, result="hit")
    misses = metric(text, "practice_cache_results_total", route=route, result="miss")
    assert hits + misses >= 30 and misses >= 1 and hits >= 27
    invalidated = metric(text, "practice_cache_results_total", route=route, result="invalidated")
    assert invalidated >= 1  # the create dropped the problem's URL
    count = metric(text, "practice_request_duration_seconds_count", route=route, method="GET")
    assert count >= 30
    assert (
        metric(
            text, "practice_request_duration_seconds_bucket", route=route, method="GET", le="+Inf"
        )
        == count
    )


def test_metrics_answer_loopback_without_a_proxy_and_admins_only(
    server: LiveServer, token: str, admin: str
) -> None:
    assert fresh_get(server, "/metrics").status_code == 200
    proxied = {"X-Forwarded-For": "203.0.113.9"}
    assert fresh_get(server, "/metrics", headers=proxied).status_code == 404
    assert (
        fresh_get(server, "/metrics", headers={"Forwarded": "for=203.0.113.9"}).status_code == 404
    )
    assert fresh_get(server, "/metrics", headers={**proxied, **bearer(token)}).status_code == 404
    assert fresh_get(server, "/metrics", headers={**proxied, **bearer(admin)}).status_code == 200


# -- the API write limit, counted across workers in Redis -------------------------------


@pytest.mark.own_backend(reason="a redis-server of its own for the rate limits")
def test_the_api_write_limit_counts_across_workers_with_redis(
    tmp_path: Path,
    redis_url: str,
) -> None:
    server = start_server(
        tmp_path,
        workers=3,
        extra_env={
            "FLASK_RATELIMIT_STORAGE_URI": redis_url,
            "FLASK_API_WRITE_RATE_LIMIT": "5 per minute",
        },
    )
    try:
        token = server.user_token("limited", PASSWORD)
        answers = [
            requests.post(
                server.url("/api/problems"),
                json={"name": f"Limited {i}"},
                headers={**bearer(token), "Connection": "close"},
                timeout=10,
            )
            for i in range(8)
        ]
        assert [a.status_code for a in answers] == [201] * 5 + [429] * 3
        refused = answers[-1]
        assert refused.json().keys() == {"error"}
        assert int(refused.headers["Retry-After"]) > 0
        assert int(answers[0].headers["X-RateLimit-Limit"]) == 5
        # Reads are not limited; another token has its own count.
        assert requests.get(server.url("/api/problems"), timeout=10).status_code == 200
        other = server.user_token("other", PASSWORD)
        assert (
            requests.post(
                server.url("/api/problems"),
                json={"name": "Other"},
                headers=bearer(other),
                timeout=10,
            ).status_code
            == 201
        )
    finally:
        stop_server(server)
