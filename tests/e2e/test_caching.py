"""End to end: the response cache under gunicorn, its workers sharing one store.

Each test speaks HTTP to a real gunicorn. The main server has four workers and
logs, for every request, the worker's pid, an ``X-Probe`` header the test sends
and the ``X-Cache`` it answered; so a test can read a URL until every worker
has answered it (and answered it from the cache), rather than hope that twenty
reads reached all four (support/workers.py).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import pytest
import redis
import requests

from devservers.processes import free_port
from tests.support.http import create_token
from tests.support.servers import LiveServer, serving
from tests.support.workers import LOGGED, booted_workers, miss_then_hits, read_everywhere

WORKERS = 4
DYNAMIC = "private, no-cache, no-store, max-age=0, must-revalidate"
STATIC = "public, no-cache"
REVALIDATE_300 = "public, no-cache"
ETAG = re.compile(r'^"[0-9a-f]{32}"$')


def names(response: requests.Response) -> list[str]:
    return [problem["name"] for problem in response.json()]


# -- four workers sharing the file-system cache --------------------------------------


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with serving(tmp_path_factory.mktemp("cache-e2e"), workers=WORKERS, extra_env=LOGGED) as live:
        assert len(booted_workers(live)) == WORKERS
        yield live


@pytest.fixture(scope="module")
def auth(server: LiveServer) -> dict[str, str]:
    return create_token(server)


@pytest.fixture(scope="module")
def problem_id(server: LiveServer, auth: dict[str, str]) -> int:
    """A problem that the tests read and never change."""
    made = requests.post(
        server.url("/api/problems"), json={"name": "Binary Tree Paths"}, headers=auth, timeout=10
    )
    assert made.status_code == 201, made.text
    return int(made.json()["id"])


def test_every_write_shows_on_every_worker(
    server: LiveServer, auth: dict[str, str], problem_id: int
) -> None:
    def stats() -> dict[str, Any]:
        return dict(requests.get(server.url("/api/stats"), timeout=10).json())

    # Warm: every worker has served the list, a problem and the counts from the cache.
    read_everywhere(server, "/api/problems", lambda r: None)
    read_everywhere(server, f"/api/problems/{problem_id}", lambda r: None)
    read_everywhere(server, "/api/stats", lambda r: None)
    before = stats()

    def reads_show(
        list_check: Callable[[requests.Response], None],
        detail_path: str,
        detail_check: Callable[[requests.Response], None],
        stats_check: Callable[[dict[str, Any]], None],
        detail_status: int = 200,
    ) -> None:
        # The write dropped each entry: one worker renders it again, then all serve it.
        assert miss_then_hits(read_everywhere(server, "/api/problems", list_check))
        detail = read_everywhere(
            server, detail_path, detail_check, status=detail_status, cached=detail_status == 200
        )
        if detail_status == 200:
            assert miss_then_hits(detail)
        else:
            assert set(detail) == {None}
        assert miss_then_hits(
            read_everywhere(server, "/api/stats", lambda r: stats_check(r.json()))
        )

    # POST
    created = requests.post(
        server.url("/api/problems"),
        json={"name": "Invert a Tree", "difficulty": "easy"},
        headers=auth,
        timeout=10,
    )
    assert created.status_code == 201, created.text
    new_id = created.json()["id"]
    path = f"/api/problems/{new_id}"
    assert created.headers["Location"].endswith(path)

    def has_new(r: requests.Response) -> None:
        assert "Invert a Tree" in names(r)

    def shows_new(r: requests.Response) -> None:
        assert r.json()["name"] == "Invert a Tree"

    def one_more(s: dict[str, Any]) -> None:
        assert s["total"] == before["total"] + 1
        assert s["by_difficulty"]["easy"] == before["by_difficulty"]["easy"] + 1

    reads_show(has_new, path, shows_new, one_more)

    # PATCH
    patched = requests.patch(
        server.url(path), json={"name": "Invert a Binary Tree"}, headers=auth, timeout=10
    )
    assert patched.status_code == 200, patched.text

    def has_renamed(r: requests.Response) -> None:
        assert "Invert a Binary Tree" in names(r)
        assert "Invert a Tree" not in names(r)

    def shows_renamed(r: requests.Response) -> None:
        assert r.json()["name"] == "Invert a Binary Tree"

    reads_show(has_renamed, path, shows_renamed, one_more)

    # PUT: every field replaced.
    replaced = requests.put(
        server.url(path),
        json={"name": "Mirror a Tree", "difficulty": "hard", "tags": ["trees"]},
        headers=auth,
        timeout=10,
    )
    assert replaced.status_code == 200, replaced.text

    def has_replaced(r: requests.Response) -> None:
        assert "Mirror a Tree" in names(r)
        assert "Invert a Binary Tree" not in names(r)

    def shows_replaced(r: requests.Response) -> None:
        body = r.json()
        assert (body["name"], body["difficulty"], body["tags"]) == (
            "Mirror a Tree",
            "hard",
            ["trees"],
        )

    def one_more_hard(s: dict[str, Any]) -> None:
        assert s["total"] == before["total"] + 1
        assert s["by_difficulty"]["easy"] == before["by_difficulty"]["easy"]
        assert s["by_difficulty"]["hard"] == before["by_difficulty"]["hard"] + 1

    reads_show(has_replaced, path, shows_replaced, one_more_hard)

    # DELETE
    deleted = requests.delete(server.url(path), headers=auth, timeout=10)
    assert deleted.status_code == 204, deleted.text

    def lacks_it(r: requests.Response) -> None:
        assert new_id not in [problem["id"] for problem in r.json()]

    def gone(r: requests.Response) -> None:
        assert r.json() == {"error": "Problem not found"}
        assert r.headers["Cache-Control"] == DYNAMIC

    def as_before(s: dict[str, Any]) -> None:
        assert (s["total"], s["by_difficulty"]) == (before["total"], before["by_difficulty"])

    reads_show(lacks_it, path, gone, as_before, detail_status=404)


def test_revalidating_route_misses_then_hits(server: LiveServer) -> None:
    first = requests.get(server.url("/api/clock/revalidate"), timeout=10)
    assert first.headers["X-Cache"] == "MISS"
    assert first.headers["Cache-Control"] == REVALIDATE_300

    def same_rendering(r: requests.Response) -> None:
        assert r.headers["X-Cache"] == "HIT"
        assert r.headers["Cache-Control"] == REVALIDATE_300
        assert r.headers["ETag"] == first.headers["ETag"]
        assert r.content == first.content

    read_everywhere(server, "/api/clock/revalidate", same_rendering)


def test_cached_headers_and_conditional_get(server: LiveServer, problem_id: int) -> None:
    path = f"/api/problems/{problem_id}"
    requests.get(server.url(path), timeout=10)
    hit = requests.get(server.url(path), timeout=10)
    assert hit.headers["X-Cache"] == "HIT"
    assert hit.headers["Cache-Control"] == STATIC
    assert ETAG.match(hit.headers["ETag"])
    assert hit.headers["Age"].isdigit()
    assert hit.headers["Content-Type"] == "application/json"
    assert int(hit.headers["Content-Length"]) == len(hit.content)
    etag = hit.headers["ETag"]

    for header in (etag, "W/" + etag, f'"other", {etag}', "*"):
        not_modified = requests.get(server.url(path), headers={"If-None-Match": header}, timeout=10)
        assert not_modified.status_code == 304, header
        assert not_modified.content == b""
        assert not_modified.headers["ETag"] == etag
        assert not_modified.headers["X-Cache"] == "HIT"
        assert not_modified.headers["Cache-Control"] == STATIC

    changed = requests.get(server.url(path), headers={"If-None-Match": '"other"'}, timeout=10)
    assert (changed.status_code, changed.content) == (200, hit.content)

    # After the cache is cleared the miss path answers the same request, with the same ETag.
    cleared = server.flask("cache", "clear")
    assert cleared.returncode == 0, cleared.stderr
    on_miss = requests.get(server.url(path), headers={"If-None-Match": etag}, timeout=10)
    assert (on_miss.status_code, on_miss.content) == (304, b"")
    assert on_miss.headers["X-Cache"] == "MISS"
    assert on_miss.headers["ETag"] == etag
    assert requests.get(server.url(path), timeout=10).headers["X-Cache"] == "HIT"


def test_miss_and_hit_send_the_same_headers(server: LiveServer, problem_id: int) -> None:
    path = f"/api/problems/{problem_id}"
    cleared = server.flask("cache", "clear")
    assert cleared.returncode == 0, cleared.stderr
    miss = requests.get(server.url(path), timeout=10)
    hit = requests.get(server.url(path), timeout=10)
    assert (miss.headers["X-Cache"], hit.headers["X-Cache"]) == ("MISS", "HIT")
    assert miss.content == hit.content

    def stable(response: requests.Response) -> dict[str, str]:
        # Connection is gunicorn's, hop by hop: "close" when its kept-alive places are full.
        varying = ("Date", "Age", "X-Cache", "X-Request-ID", "Connection")
        return {k: v for k, v in response.headers.items() if k not in varying}

    assert stable(miss) == stable(hit)
    assert "Vary" not in hit.headers


def test_head_gives_get_headers_without_body(server: LiveServer, problem_id: int) -> None:
    compared = ("Content-Type", "Content-Length", "ETag", "Cache-Control", "X-Cache")
    path = f"/api/problems/{problem_id}"
    requests.get(server.url(path), timeout=10)
    got = requests.get(server.url(path), timeout=10)
    head = requests.head(server.url(path), timeout=10)
    assert head.status_code == 200
    assert head.content == b""
    assert [head.headers.get(name) for name in compared] == [
        got.headers.get(name) for name in compared
    ]
    assert head.headers["X-Cache"] == "HIT"

    # A HEAD that misses stores the whole body, not the empty one it sends.
    first = requests.head(server.url("/api/clock/static"), timeout=10)
    assert (first.status_code, first.content, first.headers["X-Cache"]) == (200, b"", "MISS")
    after = requests.get(server.url("/api/clock/static"), timeout=10)
    assert after.headers["X-Cache"] == "HIT"
    assert after.json()["now"]
    assert after.headers["ETag"] == first.headers["ETag"]
    assert len(after.content) == int(first.headers["Content-Length"])


@pytest.mark.parametrize("path", ["/api/whoami", "/api/search?q=x", "/api/clock/dynamic"])
def test_dynamic_routes_are_never_stored(server: LiveServer, path: str) -> None:
    for _ in range(3):
        response = requests.get(server.url(path), headers={"If-None-Match": "*"}, timeout=10)
        assert response.status_code == 200
        assert "X-Cache" not in response.headers
        assert "ETag" not in response.headers
        assert response.headers["Cache-Control"] == DYNAMIC


def test_whoami_answers_each_caller(server: LiveServer, auth: dict[str, str]) -> None:
    for _ in range(3):
        assert requests.get(server.url("/api/whoami"), headers=auth, timeout=10).json()["user"] == {
            "name": "ed",
            "admin": False,
        }
        assert requests.get(server.url("/api/whoami"), timeout=10).json()["user"] is None


# -- a broken cache: dynamic serving, a warning, never a 500 ---------------------------


@contextmanager
def unwritable(directory: Path) -> Iterator[None]:
    """Make ``directory`` refuse new files, for root too (``chattr +i``), then undo it."""
    root = os.geteuid() == 0
    if root:
        # Permissions do not stop root; the immutable attribute does.
        if shutil.which("chattr") is None:
            pytest.skip("running as root without chattr (e2fsprogs): cannot lock a directory")
        locked = subprocess.run(
            ["chattr", "+i", str(directory)], capture_output=True, text=True, check=False
        )
        if locked.returncode != 0:
            pytest.skip(f"cannot make a directory immutable here: {locked.stderr.strip()}")
    else:
        directory.chmod(0o555)
    try:
        probe = directory / "probe"
        with suppress(OSError), probe.open("w"):
            pytest.fail(f"{directory} is still writable")
        yield
    finally:
        if root:
            subprocess.run(["chattr", "-i", str(directory)], check=True)
        else:
            directory.chmod(0o755)


def assert_dynamic_and_warned(server: LiveServer, auth: dict[str, str]) -> None:
    made = requests.post(
        server.url("/api/problems"), json={"name": "Broken Cache"}, headers=auth, timeout=10
    )
    assert made.status_code == 201, made.text
    for path in ("/api/problems", f"/api/problems/{made.json()['id']}", "/api/stats"):
        for _ in range(3):
            response = requests.get(server.url(path), timeout=10)
            assert response.status_code == 200, response.text
            assert "X-Cache" not in response.headers
            assert response.headers["Cache-Control"] == DYNAMIC
    assert requests.get(server.url("/api/stats"), timeout=10).json()["total"] == 1
    renamed = requests.patch(
        server.url(f"/api/problems/{made.json()['id']}"),
        json={"name": "Still Broken"},
        headers=auth,
        timeout=10,
    )
    assert renamed.status_code == 200, renamed.text
    assert names(requests.get(server.url("/api/problems"), timeout=10)) == ["Still Broken"]
    assert "serving dynamically" in server.log()


@pytest.mark.sqlite_only(reason="an unwritable cache directory: the file cache")
def test_unwritable_cache_dir_serves_dynamically(tmp_path: Path) -> None:
    cache_dir = tmp_path / "cache"
    cache_dir.mkdir()
    with (
        unwritable(cache_dir),
        serving(tmp_path, workers=2, extra_env={"FLASK_CACHE_DIR": str(cache_dir)}) as server,
    ):
        assert_dynamic_and_warned(server, create_token(server))


@pytest.mark.sqlite_only(reason="a cache directory that cannot be made: the file cache")
def test_cache_dir_that_cannot_be_made_serves_dynamically(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory\n")
    env = {"FLASK_CACHE_DIR": str(blocker / "cache")}
    with serving(tmp_path, workers=2, extra_env=env) as server:
        assert_dynamic_and_warned(server, create_token(server))


@pytest.mark.sqlite_only(reason="a cache directory turning read-only: the file cache")
def test_cache_dir_turning_unwritable_does_not_serve_stale(tmp_path: Path) -> None:
    cache_dir = tmp_path / "cache"
    with serving(tmp_path, workers=2, extra_env={"FLASK_CACHE_DIR": str(cache_dir)}) as server:
        auth = create_token(server)
        requests.get(server.url("/api/problems"), timeout=10)
        assert requests.get(server.url("/api/problems"), timeout=10).headers["X-Cache"] == "HIT"
        with unwritable(cache_dir):
            made = requests.post(
                server.url("/api/problems"), json={"name": "Late"}, headers=auth, timeout=10
            )
            assert made.status_code == 201, made.text
            assert names(requests.get(server.url("/api/problems"), timeout=10)) == ["Late"]
        # Writable again, with the old entry still in it: nothing old comes back.
        for _ in range(12):
            assert names(requests.get(server.url("/api/problems"), timeout=10)) == ["Late"]


@pytest.mark.own_backend(reason="points the cache at a Redis that is not there")
def test_redis_down_serves_dynamically(tmp_path: Path) -> None:
    closed = f"redis://127.0.0.1:{free_port()}/0"
    env = {"FLASK_CACHE_TYPE": "RedisCache", "FLASK_CACHE_REDIS_URL": closed}
    with serving(tmp_path, workers=2, extra_env=env) as server:
        assert_dynamic_and_warned(server, create_token(server))


# -- a real Redis, shared by three workers --------------------------------------------


@pytest.mark.own_backend(reason="starts a redis-server of its own and reads its keys")
def test_redis_backend_shared_by_workers(tmp_path: Path, redis_url: str) -> None:
    env = {**LOGGED, "FLASK_CACHE_TYPE": "RedisCache", "FLASK_CACHE_REDIS_URL": redis_url}
    with serving(tmp_path, workers=3, extra_env=env) as server:
        auth = create_token(server)
        states = read_everywhere(server, "/api/problems", lambda r: None)
        assert miss_then_hits(states)
        client = redis.Redis.from_url(redis_url)
        try:
            # the head under the code's version, and the body under its ETag
            assert len(client.keys("practice:view:*:/api/problems")) == 1
            assert client.keys("practice:body:*")
        finally:
            client.close()

        made = requests.post(
            server.url("/api/problems"), json={"name": "Tree Depth"}, headers=auth, timeout=10
        )
        assert made.status_code == 201, made.text

        def has_it(r: requests.Response) -> None:
            assert names(r) == ["Tree Depth"]

        assert miss_then_hits(read_everywhere(server, "/api/problems", has_it))


def test_a_shared_max_age_opts_into_bounded_staleness(tmp_path: Path) -> None:
    with serving(tmp_path, workers=2, extra_env={"FLASK_CACHE_SHARED_MAX_AGE": "600"}) as server:
        for path, seconds in (("/api/problems", 600), ("/api/stats", 300)):
            for state in ("MISS", "HIT"):
                response = requests.get(server.url(path), timeout=10)
                assert response.headers["X-Cache"] == state
                expected = f"public, s-maxage={seconds}, stale-while-revalidate={seconds}"
                assert response.headers["Cache-Control"] == expected
