"""The JSON API over real HTTP against gunicorn with 3 workers: one test per contract row."""

from __future__ import annotations

import concurrent.futures
import json
from collections.abc import Iterator

import pytest
import requests

from tests.support.servers import LiveServer


@pytest.fixture(scope="module")
def token(live_server: LiveServer) -> str:
    created = live_server.flask("users", "create", "alice", stdin="alice-password-1\n")
    assert created.returncode == 0, created.stderr
    result = live_server.flask("tokens", "create", "alice")
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().splitlines()[-1]


@pytest.fixture(scope="module")
def other_token(live_server: LiveServer) -> str:
    assert live_server.flask("users", "create", "bob", stdin="bob-password-1\n").returncode == 0
    return live_server.flask("tokens", "create", "bob").stdout.strip().splitlines()[-1]


@pytest.fixture
def http() -> Iterator[requests.Session]:
    with requests.Session() as session:
        yield session


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_crud_over_http(live_server: LiveServer, token: str, http: requests.Session) -> None:
    created = http.post(
        live_server.url("/api/problems"),
        json={"name": "HTTP Sum", "tags": ["arrays"], "difficulty": "easy"},
        headers=auth(token),
    )
    assert created.status_code == 201
    problem = created.json()
    location = created.headers["Location"]
    assert location == f"/api/problems/{problem['id']}"
    assert http.get(live_server.url(location)).json() == problem
    listed = http.get(live_server.url("/api/problems"))
    assert listed.status_code == 200 and problem in listed.json()

    put = http.put(live_server.url(location), json={"name": "HTTP Sum II"}, headers=auth(token))
    assert (
        put.status_code == 200 and put.json()["tags"] == [] and put.json()["difficulty"] == "medium"
    )
    patch = http.patch(live_server.url(location), json={"difficulty": "hard"}, headers=auth(token))
    assert patch.status_code == 200 and patch.json()["name"] == "HTTP Sum II"
    assert http.get(live_server.url(location)).json()["difficulty"] == "hard"

    deleted = http.delete(live_server.url(location), headers=auth(token))
    assert deleted.status_code == 204 and deleted.content == b""
    gone = http.get(live_server.url(location))
    assert gone.status_code == 404 and gone.json() == {"error": "Problem not found"}


def test_errors_over_http(
    live_server: LiveServer, token: str, other_token: str, http: requests.Session
) -> None:
    url = live_server.url("/api/problems")
    anonymous = http.post(url, json={"name": "x"})
    assert anonymous.status_code == 401 and anonymous.headers["WWW-Authenticate"].startswith(
        "Bearer"
    )
    malformed = http.post(
        url, data="{", headers={**auth(token), "Content-Type": "application/json"}
    )
    assert malformed.status_code == 400 and "error" in malformed.json()
    not_object = http.post(
        url, data="[]", headers={**auth(token), "Content-Type": "application/json"}
    )
    assert not_object.status_code == 400
    wrong_type = http.post(
        url, data="name=x", headers={**auth(token), "Content-Type": "text/plain"}
    )
    assert wrong_type.status_code == 415
    invalid = http.post(url, json={"name": "", "id": 4}, headers=auth(token))
    assert invalid.status_code == 422 and {"name", "id"} <= set(invalid.json()["details"])
    huge = http.post(
        url,
        data=json.dumps({"name": "big", "statement": "x" * (2 * 1024 * 1024)}),
        headers={**auth(token), "Content-Type": "application/json"},
    )
    assert huge.status_code == 413 and huge.json()["error"]

    mine = http.post(url, json={"name": "Owned"}, headers=auth(token)).json()
    theirs = http.patch(
        live_server.url(f"/api/problems/{mine['id']}"),
        json={"name": "Stolen"},
        headers=auth(other_token),
    )
    assert theirs.status_code == 403 and theirs.json()["error"]
    dup = http.post(url, json={"name": "OWNED"}, headers=auth(token))
    assert dup.status_code == 409
    assert http.get(live_server.url("/api/problems/abc")).json() == {"error": "Problem not found"}
    not_allowed = http.put(url, json={})
    assert not_allowed.status_code == 405 and "POST" in not_allowed.headers["Allow"]
    assert not_allowed.json() == {"error": "Method not allowed."}
    options = http.options(url)
    assert options.status_code == 204 and "GET" in options.headers["Allow"]
    head = http.head(url)
    assert (
        head.status_code == 200 and head.content == b"" and int(head.headers["Content-Length"]) > 0
    )


def test_racing_duplicate_names_give_one_201_and_409s(live_server: LiveServer, token: str) -> None:
    def create(_: int) -> int:
        return requests.post(
            live_server.url("/api/problems"),
            json={"name": "Race Condition"},
            headers=auth(token),
            timeout=30,
        ).status_code

    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        statuses = sorted(pool.map(create, range(8)))
    assert statuses == [201] + [409] * 7


def test_concurrent_writers_never_see_database_is_locked(
    live_server: LiveServer, token: str
) -> None:
    def create(i: int) -> int:
        return requests.post(
            live_server.url("/api/problems"),
            json={"name": f"Parallel {i}"},
            headers=auth(token),
            timeout=30,
        ).status_code

    with concurrent.futures.ThreadPoolExecutor(max_workers=12) as pool:
        statuses = list(pool.map(create, range(60)))
    assert statuses == [201] * 60
    assert "database is locked" not in live_server.log()


def test_search_whoami_stats_over_http(
    live_server: LiveServer, token: str, http: requests.Session
) -> None:
    for name in ("Zebra Tree", "Zebra Forest", "zebra_crossing"):
        http.post(live_server.url("/api/problems"), json={"name": name}, headers=auth(token))
    found = http.get(live_server.url("/api/search"), params={"q": "ZEBRA", "limit": 2})
    assert found.status_code == 200
    assert [p["name"] for p in found.json()] == ["Zebra Tree", "Zebra Forest"]
    assert found.headers["X-Total-Count"] == "3"
    assert 'rel="next"' in found.headers["Link"]
    assert http.get(live_server.url("/api/search")).json() == {"error": "Query parameter required"}

    who = http.get(live_server.url("/api/whoami"), headers={**auth(token), "User-Agent": "e2e/1"})
    assert who.json() == {"user": {"name": "alice", "admin": False}, "userAgent": "e2e/1"}
    stats = http.get(live_server.url("/api/stats")).json()
    assert stats["total"] == sum(stats["by_difficulty"].values()) > 0
    for kind in ("static", "dynamic", "revalidate"):
        assert http.get(live_server.url(f"/api/clock/{kind}")).json()["now"].endswith("Z")
    assert http.get(live_server.url("/healthz")).json() == {"status": "ok"}
    assert http.get(live_server.url("/api/openapi.json")).json()["openapi"].startswith("3.")
    assert http.get(live_server.url("/api/docs")).status_code == 200


def test_tokens_never_reach_the_log(
    live_server: LiveServer, token: str, http: requests.Session
) -> None:
    http.get(live_server.url("/api/whoami"), headers=auth(token))
    http.post(live_server.url("/api/problems"), json={"name": "Logged?"}, headers=auth(token))
    http.get(live_server.url("/api/whoami"), headers=auth("pp_" + "x" * 43))
    log = live_server.log()
    assert "/api/whoami" in log  # the access log is on
    assert token not in log and "pp_xxxx" not in log


@pytest.mark.parametrize(
    "name", ["\u3164", "\u2800", "\u0301\u0301", "a\u2028b", "a\u2029b", "a\ufffeb"]
)
def test_a_name_that_shows_nothing_is_refused_over_http(
    live_server: LiveServer, token: str, http: requests.Session, name: str
) -> None:
    before = http.get(live_server.url("/api/problems"), timeout=10).json()
    refused = http.post(
        live_server.url("/api/problems"), json={"name": name}, headers=auth(token), timeout=10
    )
    assert refused.status_code == 422, refused.text
    assert list(refused.json()["details"]) == ["name"]
    assert http.get(live_server.url("/api/problems"), timeout=10).json() == before
