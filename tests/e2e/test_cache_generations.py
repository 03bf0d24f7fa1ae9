"""One generation per change, against gunicorn: after a revalidating entry expires, or the
store is emptied (Redis flushed, the cache directory wiped) under workers that still hold the
old entry in memory, every hit serves one and the same generation, with one ETag, and no client
sees a value go back in time. Many expiries and flushes, bursts of concurrent readers."""

from __future__ import annotations

import concurrent.futures
import json
import os
import shutil
import signal
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis
import requests

from devservers.processes import free_port
from devservers.redis import redis_server
from tests.support.servers import LiveServer, start_server, worker_pids
from tests.support.workers import LOGGED

PERIOD = 2  # seconds: the revalidating clock's period in these tests (FLASK_CACHE_REVALIDATE)
BURST = 48
# One thread, so one connection, per worker: a burst then reaches every worker (with eight
# threads, one worker can take a whole burst of such short requests alone).
# The access log names the worker that answered each request (LOGGED's format).
ONE_THREAD = {**LOGGED, "PRACTICE_THREADS": "1"}


@dataclass(frozen=True)
class Seen:
    """One answer, with when it was asked for and when it came (the test's monotonic clock)."""

    started: float
    ended: float
    state: str | None  # X-Cache
    etag: str | None
    now: str


def ask(server: LiveServer, path: str) -> Seen:
    started = time.monotonic()
    response = requests.get(server.url(path), headers={"Connection": "close"}, timeout=10)
    ended = time.monotonic()
    assert response.status_code == 200, response.text
    return Seen(
        started,
        ended,
        response.headers.get("X-Cache"),
        response.headers.get("ETag"),
        response.json()["now"],
    )


def burst_then_one_by_one(server: LiveServer, path: str, after: int = 30) -> list[Seen]:
    """``BURST`` readers at once (over every worker), then ``after`` one after another."""
    with concurrent.futures.ThreadPoolExecutor(BURST) as pool:
        seen = list(pool.map(lambda _: ask(server, path), range(BURST)))
    return seen + [ask(server, path) for _ in range(after)]


def assert_one_generation_at_a_time(seen: list[Seen]) -> None:
    """No answer shows an older value than one that had come before it was asked for;
    each value has one ETag; and after each burst, the readers one by one agree."""
    by_value: dict[str, set[str | None]] = {}
    for answer in seen:
        by_value.setdefault(answer.now, set()).add(answer.etag)
    assert all(len(etags) == 1 for etags in by_value.values()), by_value
    finished = sorted(seen, key=lambda answer: answer.ended)
    for answer in seen:
        before = [earlier.now for earlier in finished if earlier.ended < answer.started]
        if before:
            assert answer.now >= max(before), ("back in time", answer, max(before))


def clock_env() -> dict[str, str]:
    return {**ONE_THREAD, "FLASK_CACHE_REVALIDATE": json.dumps({"api.clock_revalidate": PERIOD})}


def test_an_expired_entry_is_regenerated_once_for_every_worker_of_two_instances(
    tmp_path: Path, servers: list[LiveServer]
) -> None:
    """Two gunicorn masters (two machines) on the test's backend: the file cache and SQLite,
    or PostgreSQL + Redis. Ten expiries, each met by a burst over all six workers."""
    first = start_server(tmp_path / "a", workers=3, extra_env=clock_env())
    servers.append(first)
    shared = {
        key: value
        for key, value in first.env.items()
        if key == "FLASK_SQLALCHEMY_DATABASE_URI" or key.startswith("FLASK_CACHE_")
    }
    shared.setdefault("FLASK_CACHE_DIR", str(first.instance / "cache"))
    second = start_server(tmp_path / "b", workers=3, extra_env={**clock_env(), **shared})
    servers.append(second)

    path = "/api/clock/revalidate"
    seen = [ask(first, path), ask(second, path)]
    began = time.monotonic()
    for _ in range(10):
        time.sleep(PERIOD + 0.1)  # the entry has expired
        with concurrent.futures.ThreadPoolExecutor(BURST) as pool:
            seen += pool.map(lambda i: ask((first, second)[i % 2], path), range(BURST))
        seen += [ask((first, second)[i % 2], path) for i in range(20)]
    elapsed = time.monotonic() - began
    assert_one_generation_at_a_time(seen)
    generations = len({answer.now for answer in seen})
    # One per expiry at most (the period may also run out while the readers read).
    assert generations <= elapsed / PERIOD + 2, (generations, elapsed)
    states = {answer.state for answer in seen}
    assert states <= {"MISS", "HIT", "STALE", None}
    if None in states:
        # Answered dynamically: only when a worker could not reach the store in time
        # (a 0.25 s Redis timeout on a machine running two suites at once), as it says.
        logs = first.log() + second.log()
        assert "failed, serving dynamically" in logs, "a dynamic answer no failure explains"


def empty_the_store(server: LiveServer, store: str, url: str | None) -> None:
    if store == "redis":
        client = redis.Redis.from_url(url or "")
        client.flushall()
        client.close()
    else:
        for entry in (server.instance / "cache").iterdir():
            if entry.is_dir():
                shutil.rmtree(entry)
            else:
                entry.unlink()


def replace_a_worker(server: LiveServer) -> int:
    """SIGKILL the newest worker; return the pid of the replacement gunicorn boots (which
    holds nothing). The others keep what they hold in memory."""
    before = worker_pids(server)
    victim = max(before)
    os.kill(victim, signal.SIGKILL)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        now = worker_pids(server)
        if victim not in now and len(now) == len(before):
            return max(now - before)
        time.sleep(0.05)
    raise AssertionError("gunicorn did not replace the killed worker")


def until_it_answers(server: LiveServer, pid: int, path: str) -> list[Seen]:
    """Bursts of readers until worker ``pid`` has answered one (the access log says who)."""
    seen: list[Seen] = []
    deadline = time.monotonic() + 30
    while f"<{pid}> " not in server.log():
        assert time.monotonic() < deadline, f"worker {pid} answered nothing"
        seen += burst_then_one_by_one(server, path, after=0)
    return seen


@pytest.mark.parametrize("store", ["redis", "files"])
def test_an_emptied_store_gets_one_new_generation_for_every_worker(
    tmp_path: Path, servers: list[LiveServer], store: str
) -> None:
    """Workers that hold the static clock in memory, a store emptied under them, and one
    worker replaced (it holds nothing, so it renders): eight times, then bursts of readers."""
    env = {**ONE_THREAD, "FLASK_CACHE_TYPE": "FileSystemCache", "FLASK_CACHE_DIR": ""}
    with redis_server(free_port(), tmp_path) as url:
        if store == "redis":
            env = {**ONE_THREAD, "FLASK_CACHE_TYPE": "RedisCache", "FLASK_CACHE_REDIS_URL": url}
        server = start_server(tmp_path / "s", workers=3, extra_env=env)
        servers.append(server)
        path = "/api/clock/static"
        seen = burst_then_one_by_one(server, path)  # every worker holds the entry
        for _ in range(8):
            empty_the_store(server, store, url)
            seen += until_it_answers(server, replace_a_worker(server), path)
            seen += burst_then_one_by_one(server, path)
            after = seen[-30:]
            assert len({answer.now for answer in after}) == 1, after
            assert {answer.state for answer in after} == {"HIT"}, after
        assert_one_generation_at_a_time(seen)
        assert len({answer.now for answer in seen}) <= 1 + 8
