"""The public API grown up, against gunicorn with 3 workers: revalidation, CORS, If-Match,
Idempotency-Key. The races run on PostgreSQL too (e2e/test_postgres.py).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest
import requests
from sqlalchemy import create_engine, func, select

from practice_app.api.auth import webhook_signature
from practice_app.cors import ALLOW_HEADERS
from practice_app.extensions import route_cache
from tests.support import races
from tests.support.auth import bearer
from tests.support.servers import LiveServer, start_server, stop_server

SECRET = "e2e-revalidate-secret"
ALLOWED = "https://app.example.com"
REFUSED = "https://evil.example.net"
EXPOSED = {"ETag", "Location", "Link", "X-Total-Count", "X-Cache", "X-Request-ID", "Retry-After"}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    server = start_server(
        tmp_path_factory.mktemp("public-api"),
        workers=3,
        extra_env={
            "FLASK_REVALIDATE_SECRET": SECRET,
            "FLASK_CORS_ORIGINS": f"{ALLOWED}, http://localhost:5173",
        },
    )
    yield server
    stop_server(server)


def fresh_get(server: LiveServer, path: str, **headers: str) -> requests.Response:
    """A GET on a new connection, so that successive ones spread over the workers."""
    return requests.get(server.url(path), headers={"Connection": "close", **headers}, timeout=10)


def warm(server: LiveServer, path: str) -> bytes:
    """GET ``path`` until every answer is a HIT of one body; return that body."""
    bodies = set()
    for _ in range(30):
        response = fresh_get(server, path)
        if response.headers["X-Cache"] == "HIT":
            bodies.add(response.content)
    assert len(bodies) == 1, bodies
    return bodies.pop()


def post_signed(server: LiveServer, body: dict[str, object], at: float) -> requests.Response:
    raw = json.dumps(body).encode()
    timestamp = str(int(at))
    return requests.post(
        server.url("/api/revalidate"),
        data=raw,
        headers={
            "Content-Type": "application/json",
            "X-Webhook-Timestamp": timestamp,
            "X-Webhook-Signature": webhook_signature(SECRET, timestamp, raw),
        },
        timeout=10,
    )


# -- revalidation ---------------------------------------------------------------------


def test_revalidating_a_path_is_seen_by_every_worker(server: LiveServer, admin: str) -> None:
    old = warm(server, "/api/clock/static")
    response = requests.post(
        server.url("/api/revalidate"),
        json={"paths": ["/api/clock/static"]},
        headers=bearer(admin),
        timeout=10,
    )
    assert response.status_code == 200, response.text
    first = fresh_get(server, "/api/clock/static")
    assert first.headers["X-Cache"] == "MISS"
    # No worker serves the dropped entry again, from its own memory or the shared store.
    for _ in range(30):
        assert fresh_get(server, "/api/clock/static").content != old


def test_revalidating_a_tag_drops_every_view_that_declares_it(
    server: LiveServer, admin: str, token: str
) -> None:
    problem_id = races.create_problem(server, token, "Tag target")
    paths = ["/api/problems", f"/api/problems/{problem_id}", "/api/stats"]
    olds = {path: warm(server, path) for path in paths}
    stats_time = json.loads(olds["/api/stats"])["generated_at"]
    response = requests.post(
        server.url("/api/revalidate"),
        json={"tags": ["problems"]},
        headers=bearer(admin),
        timeout=10,
    )
    assert response.json() == {"revalidated": {"paths": [], "tags": ["problems"]}}
    for path in paths:
        assert fresh_get(server, path).headers["X-Cache"] == "MISS", path
    for _ in range(20):
        assert fresh_get(server, "/api/stats").json()["generated_at"] != stats_time


def test_a_signed_call_is_accepted_and_a_replay_outside_the_window_refused(
    server: LiveServer,
) -> None:
    old = warm(server, "/api/clock/static")
    late = post_signed(server, {"paths": ["/api/clock/static"]}, time.time() - 301)
    assert late.status_code == 401
    assert fresh_get(server, "/api/clock/static").content == old
    now = post_signed(server, {"paths": ["/api/clock/static"]}, time.time())
    assert now.status_code == 200, now.text
    assert fresh_get(server, "/api/clock/static").headers["X-Cache"] == "MISS"


# Paths that no stored response can have: each a 422 that records nothing.
NOT_STORED = [
    "/nope",
    "/api/problems/-1",
    "/api/problems/2147483648",
    "/api/problems/7.",
    "/api/problems/\u0667",  # Arabic-Indic seven
    "/api/problems/\uff11",  # fullwidth one
    "/api/problems/7%00",
    "/api/problems/007",
    "/static/../wsgi.py",
    "/api/clock/dynamic",
]


def version_rows(server: LiveServer) -> int:
    """How many paths and tags the server's database keeps a version of (``cache_versions``)."""
    engine = create_engine(server.env["FLASK_SQLALCHEMY_DATABASE_URI"])
    try:
        with engine.connect() as connection:
            return connection.scalar(select(func.count()).select_from(route_cache.table)) or 0
    finally:
        engine.dispose()


def test_paths_no_stored_response_can_have_are_refused_and_record_nothing(
    server: LiveServer, admin: str
) -> None:
    before = version_rows(server)
    for path in NOT_STORED:
        response = requests.post(
            server.url("/api/revalidate"),
            json={"paths": ["/api/problems", path], "tags": ["problems"]},
            headers=bearer(admin),
            timeout=10,
        )
        assert response.status_code == 422, (path, response.text)
        assert [m.split(": ")[0] for m in response.json()["details"]["paths"]] == [path]
    assert version_rows(server) == before
    assert fresh_get(server, "/api/problems/2147483648").status_code == 404
    for path in ("/api/problems", "/api/problems/7", "/api/stats", "/"):
        response = requests.post(
            server.url("/api/revalidate"), json={"paths": [path]}, headers=bearer(admin), timeout=10
        )
        assert response.json() == {"revalidated": {"paths": [path], "tags": []}}, path


# -- CORS -----------------------------------------------------------------------------


def assert_cors(response: requests.Response, origin: str) -> None:
    assert response.headers["Access-Control-Allow-Origin"] == origin
    assert "Origin" in [v.strip() for v in response.headers["Vary"].split(",")]
    exposed = {h.strip() for h in response.headers["Access-Control-Expose-Headers"].split(",")}
    assert exposed >= EXPOSED
    assert "Access-Control-Allow-Credentials" not in response.headers


def test_cors_headers_on_a_miss_a_hit_a_304_and_an_error_never_stored(
    server: LiveServer, admin: str
) -> None:
    requests.post(
        server.url("/api/revalidate"),
        json={"paths": ["/api/problems"]},
        headers=bearer(admin),
        timeout=10,
    )
    miss = fresh_get(server, "/api/problems", Origin=ALLOWED)
    assert miss.headers["X-Cache"] == "MISS"
    assert_cors(miss, ALLOWED)
    seen = set()
    for origin in (ALLOWED, "http://localhost:5173", ALLOWED, "http://localhost:5173") * 3:
        hit = fresh_get(server, "/api/problems", Origin=origin)
        seen.add(hit.headers["X-Cache"])
        assert_cors(hit, origin)
    assert "HIT" in seen
    not_modified = fresh_get(
        server, "/api/problems", Origin=ALLOWED, **{"If-None-Match": miss.headers["ETag"]}
    )
    assert not_modified.status_code == 304
    assert_cors(not_modified, ALLOWED)
    error = fresh_get(server, "/api/problems/999999", Origin=ALLOWED)
    assert error.status_code == 404
    assert_cors(error, ALLOWED)
    # Without Origin, and from a refused one: no CORS header, but Vary: Origin all the same.
    for headers in ({}, {"Origin": REFUSED}):
        plain = fresh_get(server, "/api/problems", **headers)
        assert plain.headers["X-Cache"] == "HIT"
        assert not [h for h in plain.headers if h.lower().startswith("access-control-")]
        assert "Origin" in plain.headers["Vary"]


def test_a_preflight_names_the_routes_own_methods(server: LiveServer) -> None:
    for path, methods in (
        ("/api/problems/1", {"GET", "HEAD", "OPTIONS", "PUT", "PATCH", "DELETE"}),
        ("/api/problems", {"GET", "HEAD", "OPTIONS", "POST"}),
        ("/api/revalidate", {"OPTIONS", "POST"}),
    ):
        preflight = requests.options(
            server.url(path),
            headers={
                "Origin": ALLOWED,
                "Access-Control-Request-Method": "POST" if "POST" in methods else "PATCH",
                "Access-Control-Request-Headers": "authorization, content-type, if-match",
            },
            timeout=10,
        )
        assert preflight.status_code == 204
        assert_cors(preflight, ALLOWED)
        allowed = {m.strip() for m in preflight.headers["Access-Control-Allow-Methods"].split(",")}
        assert allowed == methods, path
        headers = {
            h.strip().lower() for h in preflight.headers["Access-Control-Allow-Headers"].split(",")
        }
        assert headers >= {"authorization", "content-type", "if-match", "idempotency-key"}
        assert headers == {h.strip().lower() for h in ALLOW_HEADERS.split(",")}
        assert int(preflight.headers["Access-Control-Max-Age"]) > 0
    refused = requests.options(
        server.url("/api/problems"),
        headers={"Origin": REFUSED, "Access-Control-Request-Method": "POST"},
        timeout=10,
    )
    assert not [h for h in refused.headers if h.lower().startswith("access-control-")]
    wrong_method = requests.options(
        server.url("/api/revalidate"),
        headers={"Origin": ALLOWED, "Access-Control-Request-Method": "DELETE"},
        timeout=10,
    )
    assert "Access-Control-Allow-Methods" not in wrong_method.headers


def test_pages_never_send_cors_headers(server: LiveServer) -> None:
    for path in ("/", "/compare", "/login", "/healthz"):
        response = fresh_get(server, path, Origin=ALLOWED)
        assert not [h for h in response.headers if h.lower().startswith("access-control-")], path


# -- conditional writes and idempotent creates ----------------------------------------


def test_two_conditional_patches_with_one_etag_one_wins(server: LiveServer, token: str) -> None:
    races.conditional_writes_with_one_etag(server, token, rounds=15, writers=2)
    races.conditional_writes_with_one_etag(server, token, rounds=5, writers=6)


def test_ten_posts_with_one_idempotency_key_make_one_problem(
    server: LiveServer, token: str
) -> None:
    races.idempotent_posts_with_one_key(server, token, rounds=5, clients=10)
