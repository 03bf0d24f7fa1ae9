"""End to end: the data cache of search (Next.js's ``unstable_cache``) and build-time static
(``flask cache warm``), under gunicorn with three workers, on the run's backend.

Search stays dynamic (no ``X-Cache``, ``Cache-Control: private``) and says ``X-Data-Cache``.
After each acknowledged create, rename and delete, every worker's next search shows it;
a stream of distinct queries fills at most ``CACHE_DATA_SLOTS`` entries; a burst of one new
query reads the database once; after ``flask cache warm`` the first list is a hit.
"""

from __future__ import annotations

import concurrent.futures
import itertools
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
import requests

from tests.support.auth import bearer
from tests.support.servers import LiveServer, serving
from tests.support.workers import LOGGED, read_everywhere

WORKERS = 3
SLOTS = 8
DYNAMIC = "private, no-cache, no-store, max-age=0, must-revalidate"
_words = itertools.count(1)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    settings = {**LOGGED, "FLASK_CACHE_DATA_SLOTS": str(SLOTS)}
    with serving(
        tmp_path_factory.mktemp("data-cache"), workers=WORKERS, extra_env=settings
    ) as live:
        yield live


def search(server: LiveServer, query: str) -> requests.Response:
    response = requests.get(
        server.url("/api/search"),
        params={"q": query},
        headers={"Connection": "close"},
        timeout=10,
    )
    assert response.status_code == 200, response.text
    assert "X-Cache" not in response.headers
    assert response.headers["Cache-Control"] == DYNAMIC
    assert response.headers["X-Data-Cache"] in ("HIT", "MISS")
    return response


def names(response: requests.Response) -> list[str]:
    return [problem["name"] for problem in response.json()]


def shown_everywhere(server: LiveServer, query: str, expected: list[str]) -> None:
    """Search ``query`` until every worker has answered it, each answer exactly ``expected``."""

    def check(response: requests.Response) -> None:
        assert names(response) == expected, (query, response.headers.get("X-Data-Cache"))

    read_everywhere(server, f"/api/search?q={query}", check, cached=False)


def test_a_repeat_is_a_hit_whichever_worker_answers_and_spellings_share_it(
    server: LiveServer,
) -> None:
    first = search(server, "Binary Tree")
    assert first.headers["X-Data-Cache"] == "MISS"
    for spelling in ("binary tree", " BINARY TREE ", "Binary Tree"):
        for _ in range(WORKERS):
            again = search(server, spelling)
            assert again.headers["X-Data-Cache"] == "HIT", spelling
            assert again.json() == first.json()
    other = search(server, "binary")
    assert other.headers["X-Data-Cache"] == "MISS"  # another query: its own entry


def test_every_worker_sees_a_create_a_rename_and_a_delete_once_it_is_answered(
    server: LiveServer,
) -> None:
    token = server.user_token("searcher", "searcher-password-1")
    for round_ in range(3):
        word = f"zephyr{round_}x"
        shown_everywhere(server, word, [])  # cached empty on every worker
        made = requests.post(
            server.url("/api/problems"),
            json={"name": f"Quiet {word}"},
            headers=bearer(token),
            timeout=10,
        )
        assert made.status_code == 201, made.text
        shown_everywhere(server, word, [f"Quiet {word}"])
        renamed = requests.patch(
            server.url(f"/api/problems/{made.json()['id']}"),
            json={"name": f"Loud {word}"},
            headers=bearer(token),
            timeout=10,
        )
        assert renamed.status_code == 200, renamed.text
        shown_everywhere(server, word, [f"Loud {word}"])
        shown_everywhere(server, "Quiet " + word, [])
        gone = requests.delete(
            server.url(f"/api/problems/{made.json()['id']}"), headers=bearer(token), timeout=10
        )
        assert gone.status_code == 204
        shown_everywhere(server, word, [])


def _data_entries(server: LiveServer) -> int:
    """How many data cache entries the backend holds (files: every entry, for lack of names)."""
    redis_url = server.env.get("FLASK_CACHE_REDIS_URL")
    if redis_url:
        prefix = server.env["FLASK_CACHE_KEY_PREFIX"]
        with redis.Redis.from_url(redis_url) as client:
            return sum(1 for _ in client.scan_iter(match=f"{prefix}data:*", count=1000))
    cache_dir = Path(server.instance) / "cache"
    return sum(1 for path in cache_dir.iterdir() if path.is_file())


def test_a_stream_of_distinct_queries_fills_at_most_the_slots(server: LiveServer) -> None:
    search(server, "warm-up")  # the other tests' entries are counted in ``before``
    before = _data_entries(server)
    seen: list[str] = []
    for n in range(120):
        answer = search(server, f"nothing-like-{n}-{next(_words)}")
        assert answer.json() == []
        seen.append(answer.headers["X-Data-Cache"])
    assert seen == ["MISS"] * 120
    assert _data_entries(server) - before <= SLOTS


def test_a_burst_of_one_new_query_reads_the_database_once(server: LiveServer) -> None:
    query = f"burst{next(_words)}"
    with concurrent.futures.ThreadPoolExecutor(12) as pool:
        states = list(pool.map(lambda _n: search(server, query).headers["X-Data-Cache"], range(24)))
    assert states.count("MISS") == 1, states


def test_after_flask_cache_warm_the_first_list_is_a_hit(server: LiveServer) -> None:
    server.flask("cache", "clear")
    warmed = server.flask("cache", "warm")
    assert warmed.returncode == 0, warmed.stderr
    assert "/api/problems: stored" in warmed.stdout
    assert "/api/stats: stored" in warmed.stdout
    for _ in range(WORKERS):
        listed = requests.get(
            server.url("/api/problems"), headers={"Connection": "close"}, timeout=10
        )
        assert listed.headers["X-Cache"] == "HIT"
    again = server.flask("cache", "warm")
    assert "/api/problems: already stored" in again.stdout
