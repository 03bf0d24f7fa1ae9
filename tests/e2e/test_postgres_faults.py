"""Faults on PostgreSQL, over HTTP against gunicorn with 3 workers.

Concurrent edits and deletes of one problem never give a 500; values that
PostgreSQL cannot hold (NUL in text, ids beyond its 32-bit INTEGER) are
answered 400 or 404, never 500.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
import requests

from devservers.postgres import Postgres
from tests.support.auth import bearer
from tests.support.http import csrf, register
from tests.support.races import (
    concurrent_edits_of_one_problem,
    create_problem,
    deletes_racing_edits,
    ids_are_never_reused,
)
from tests.support.servers import LiveServer, start_server, stop_server

pytestmark = pytest.mark.own_backend(reason="a PostgreSQL cluster of its own")

NUL = "\x00"
# The first id past the 32-bit INTEGER columns, the largest 64-bit one, and past that.
TOO_LARGE = ["2147483648", "9223372036854775807", "9223372036854775808", "1" + "0" * 30]


@pytest.fixture(scope="module")
def server(postgres: Postgres, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    live = start_server(
        tmp_path_factory.mktemp("pg-faults"),
        extra_env={
            "FLASK_SQLALCHEMY_DATABASE_URI": postgres.url,
            "FLASK_RATELIMIT_ENABLED": "false",
        },
    )
    yield live
    stop_server(live)


@pytest.fixture(scope="module")
def token(server: LiveServer) -> str:
    return server.user_token("pgf", "pg-password-1")


@pytest.fixture(scope="module")
def dora(server: LiveServer) -> Iterator[requests.Session]:
    with register(server, "dora") as session:
        yield session


def test_concurrent_edits_of_one_problem_on_postgres(server: LiveServer, token: str) -> None:
    concurrent_edits_of_one_problem(server, token)


def test_deletes_racing_edits_on_postgres(server: LiveServer, token: str) -> None:
    deletes_racing_edits(server, token)


@pytest.mark.parametrize(
    "params",
    [{"q": NUL}, {"q": f"a{NUL}b"}, {"q": "a", "tag": NUL}, {"q": "a", "tag": f"dp{NUL}"}],
)
def test_nul_in_the_search_is_400(server: LiveServer, params: dict[str, str]) -> None:
    response = requests.get(server.url("/api/search"), params=params, timeout=10)
    assert response.status_code == 400
    assert "NUL" in response.json()["error"]


@pytest.mark.parametrize("params", [{"q": NUL}, {"tag": NUL}, {"q": f"x{NUL}", "tag": "dp"}])
def test_nul_in_the_page_search_is_400(server: LiveServer, params: dict[str, str]) -> None:
    response = requests.get(server.url("/"), params=params, timeout=10)
    assert response.status_code == 400
    assert "text/html" in response.headers["Content-Type"]
    assert "NUL" in response.text


@pytest.mark.parametrize("path", ["/login", "/register"])
def test_nul_in_a_sign_in_or_sign_up_name_is_refused(server: LiveServer, path: str) -> None:
    with requests.Session() as session:
        form = {"name": f"dora{NUL}", "password": "pg-password-1", "confirm": "pg-password-1"}
        form["csrf_token"] = csrf(session, server.url(path))
        response = session.post(server.url(path), data=form, allow_redirects=False, timeout=10)
    assert response.status_code in (400, 422)
    assert "text/html" in response.headers["Content-Type"]
    assert requests.get(server.url("/api/whoami"), timeout=10).json()["user"] is None


def test_a_token_label_with_nul_is_stored_without_it(
    server: LiveServer, dora: requests.Session
) -> None:
    form = {"label": f"lap{NUL}top", "csrf_token": csrf(dora, server.url("/account/tokens"))}
    created = dora.post(server.url("/account/tokens"), data=form, timeout=10)
    assert created.status_code == 200
    assert "laptop" in created.text


@pytest.mark.parametrize("raw_id", TOO_LARGE)
def test_api_ids_beyond_the_integer_column_are_404(
    server: LiveServer, token: str, raw_id: str
) -> None:
    url = server.url(f"/api/problems/{raw_id}")
    auth = bearer(token)
    answers = [
        requests.get(url, timeout=10),
        requests.put(url, json={"name": "Too Large"}, headers=auth, timeout=10),
        requests.patch(url, json={"difficulty": "hard"}, headers=auth, timeout=10),
        requests.delete(url, headers=auth, timeout=10),
    ]
    assert [answer.status_code for answer in answers] == [404] * 4
    assert {answer.json()["error"] for answer in answers} == {"Problem not found"}


@pytest.mark.parametrize("raw_id", TOO_LARGE)
def test_page_ids_beyond_the_integer_column_are_404(
    server: LiveServer, dora: requests.Session, raw_id: str
) -> None:
    token = csrf(dora, server.url("/account/tokens"))
    answers = [
        dora.get(server.url(f"/problems/{raw_id}"), timeout=10),
        dora.get(server.url(f"/problems/{raw_id}/edit"), timeout=10),
        dora.post(server.url(f"/problems/{raw_id}/delete"), data={"csrf_token": token}, timeout=10),
        dora.post(
            server.url(f"/account/tokens/{raw_id}/revoke"), data={"csrf_token": token}, timeout=10
        ),
    ]
    assert [answer.status_code for answer in answers] == [404] * 4


def test_search_limit_and_offset_bounds_on_postgres(server: LiveServer, token: str) -> None:
    problem_id = create_problem(server, token, "Bounded Search")
    search = server.url("/api/search")

    def get(**params: str) -> requests.Response:
        return requests.get(search, params={"q": "bounded", **params}, timeout=10)

    first = get(limit="200", offset="0")
    assert first.status_code == 200
    assert [p["id"] for p in first.json()] == [problem_id]
    for offset in ("2147483647", "2147483648"):
        far = get(limit="200", offset=offset)
        assert far.status_code == 200
        assert far.json() == []
        assert far.headers["X-Total-Count"] == "1"
    for params in (
        {"limit": "0"},
        {"limit": "201"},
        {"limit": "9223372036854775808"},
        {"offset": "-1"},
        {"offset": "2147483649"},
        {"offset": "9223372036854775808"},
    ):
        assert get(**params).status_code == 422, params
    page = requests.get(
        server.url("/"), params={"q": "bounded", "offset": "99999999999999999999"}, timeout=10
    )
    assert page.status_code == 200
    assert re.search(r"Bounded Search", page.text) is None


def test_ids_are_never_reused(server: LiveServer, token: str) -> None:
    ids_are_never_reused(server, token)
