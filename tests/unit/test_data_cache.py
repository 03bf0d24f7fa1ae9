"""The data cache (``caching.cache_data``) through the test client and in a request context:
what search keeps, when a write drops it, per-request memoization, lifetimes and settings.
``tests/e2e/test_data_cache.py`` checks the same under gunicorn."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from practice_app import caching
from practice_app.config import ConfigError
from tests.support.auth import bearer
from tests.support.clock import Clock

DYNAMIC = "private, no-cache, no-store, max-age=0, must-revalidate"


@pytest.fixture
def seeded(app: Flask, runner: Any) -> Flask:
    assert runner.invoke(args=["seed"]).exit_code == 0
    return app


def data_state(client: FlaskClient, path: str) -> str | None:
    response = client.get(path)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert "X-Cache" not in response.headers
    assert response.headers["Cache-Control"] == DYNAMIC
    return response.headers.get("X-Data-Cache")


def test_search_keeps_each_query_as_the_name_rule_keys_it(
    seeded: Flask, client: FlaskClient
) -> None:
    assert data_state(client, "/api/search?q=Tree") == "MISS"
    assert data_state(client, "/api/search?q=%20TREE%20") == "HIT"
    assert data_state(client, "/api/search?q=tree&difficulty=easy") == "MISS"
    assert data_state(client, "/api/search?q=tree&limit=2") == "MISS"
    assert data_state(client, "/api/search?q=tree&limit=2&offset=2") == "MISS"
    assert data_state(client, "/?q=tree") == "MISS"  # the pages keep ids, the API documents
    assert data_state(client, "/?q=Tree") == "HIT"


def test_a_write_drops_what_search_kept(seeded: Flask, client: FlaskClient, token: str) -> None:
    assert client.get("/api/search?q=xylo").get_json() == []
    made = client.post("/api/problems", json={"name": "Xylophone"}, headers=bearer(token))
    assert made.status_code == 201
    found = client.get("/api/search?q=xylo")
    assert (found.headers["X-Data-Cache"], [p["name"] for p in found.get_json()]) == (
        "MISS",
        ["Xylophone"],
    )
    assert data_state(client, "/api/search?q=xylo") == "HIT"


def test_a_read_runs_once_per_request_and_not_at_all_on_a_hit(seeded: Flask) -> None:
    calls: list[Any] = []

    @caching.cache_data(tags=("problems",))
    def count_calls(n: int) -> int:
        calls.append(n)
        return n * 2

    with seeded.test_request_context("/"):
        assert [count_calls(1), count_calls(1), count_calls(2)] == [2, 2, 4]
        assert calls == [1, 2]
    with seeded.test_request_context("/") as ctx:
        assert count_calls(1) == 2
        assert calls == [1, 2]  # a hit: not run
        assert ctx.request.environ[caching.data.DATA_ENVIRON] == "HIT"


def test_revalidate_is_the_longest_a_result_is_kept(make_app: Callable[..., Flask]) -> None:
    clock = Clock()
    app = make_app(CACHE_CLOCK=clock)
    calls: list[int] = []

    @caching.cache_data(revalidate=60)
    def stamped() -> int:
        calls.append(1)
        return len(calls)

    def once() -> int:
        with app.test_request_context("/"):
            return int(stamped())

    assert [once(), once()] == [1, 1]
    clock.now += 61
    assert once() == 2


def test_outside_a_request_and_without_the_extension_the_function_simply_runs() -> None:
    @caching.cache_data()
    def plain(n: int) -> int:
        return n + 1

    assert plain(1) == 2
    with Flask(__name__).app_context():
        assert plain(2) == 3
    with pytest.raises(ValueError, match="positive"):
        caching.cache_data(revalidate=0)


def test_the_slots_are_a_whole_number_above_zero(make_app: Callable[..., Flask]) -> None:
    with pytest.raises(ConfigError, match="CACHE_DATA_SLOTS"):
        make_app(CACHE_DATA_SLOTS=0)


def test_a_write_drops_the_searches_that_could_find_it_and_keeps_the_others(
    seeded: Flask, client: FlaskClient, token: str
) -> None:
    """A search depends on its text's first three-character piece: a write drops the searches
    whose piece the name it adds, changes or removes holds, before or after."""
    for query in ("tree", "ladder", "xy", "zebra"):
        assert data_state(client, f"/api/search?q={query}") == "MISS"
    made = client.post("/api/problems", json={"name": "Zebra Crossing"}, headers=bearer(token))
    assert made.status_code == 201
    assert data_state(client, "/api/search?q=tree") == "HIT"  # "Zebra Crossing" has no "tre"
    assert data_state(client, "/api/search?q=ladder") == "HIT"
    assert data_state(client, "/api/search?q=xy") == "MISS"  # two characters: every write
    zebra = client.get("/api/search?q=zebra")
    assert (zebra.headers["X-Data-Cache"], [p["name"] for p in zebra.get_json()]) == (
        "MISS",
        ["Zebra Crossing"],
    )

    # A rename drops the searches of the old name and of the new one.
    problem = f"/api/problems/{made.get_json()['id']}"
    assert data_state(client, "/api/search?q=zebra") == "HIT"
    renamed = client.patch(problem, json={"name": "Tree Crossing"}, headers=bearer(token))
    assert renamed.status_code == 200
    assert client.get("/api/search?q=zebra").get_json() == []
    assert "Tree Crossing" in [p["name"] for p in client.get("/api/search?q=tree").get_json()]
    assert data_state(client, "/api/search?q=ladder") == "HIT"

    # Other fields too: a search with a filter sees the difficulty change.
    assert data_state(client, "/api/search?q=tree&difficulty=hard") == "MISS"
    changed = client.patch(problem, json={"difficulty": "hard"}, headers=bearer(token))
    assert changed.status_code == 200
    hard = client.get("/api/search?q=tree&difficulty=hard")
    assert hard.headers["X-Data-Cache"] == "MISS"
    assert "Tree Crossing" in [p["name"] for p in hard.get_json()]

    # A delete drops the searches that found it.
    assert client.delete(problem, headers=bearer(token)).status_code == 204
    assert "Tree Crossing" not in [p["name"] for p in client.get("/api/search?q=tree").get_json()]
    assert data_state(client, "/api/search?q=ladder") == "HIT"


def test_revalidating_the_tag_drops_every_search(
    seeded: Flask,
    client: FlaskClient,
    make_user: Callable[..., int],
    make_token: Callable[[str], str],
) -> None:
    make_user("root", admin=True)
    admin = make_token("root")
    assert data_state(client, "/api/search?q=ladder") == "MISS"
    assert data_state(client, "/api/search?q=ladder") == "HIT"
    done = client.post("/api/revalidate", json={"tags": ["problems"]}, headers=bearer(admin))
    assert done.status_code == 200, done.get_json()
    assert data_state(client, "/api/search?q=ladder") == "MISS"
