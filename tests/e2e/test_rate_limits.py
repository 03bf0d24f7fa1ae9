"""Rate limits against gunicorn: one count for every worker of the machine, and no 500 when
the storage fails (Redis stopped, paused or full): limits count per worker in memory until it
is back."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
import requests

from devservers.processes import free_port
from devservers.redis import start_redis
from tests.support.auth import PASSWORD, bearer
from tests.support.forms import csrf_from
from tests.support.servers import LiveServer, start_server


def sign_in(server: LiveServer, name: str, password: str) -> int:
    """POST the sign-in form on a new connection (so successive ones spread over the workers)."""
    session = requests.Session()
    session.headers["Connection"] = "close"
    token = csrf_from(session.get(server.url("/login"), timeout=10).text)
    answer = session.post(
        server.url("/login"),
        data={"name": name, "password": password, "csrf_token": token},
        allow_redirects=False,
        timeout=10,
    )
    return answer.status_code


def post_problem(server: LiveServer, token: str, name: str) -> requests.Response:
    return requests.post(
        server.url("/api/problems"),
        json={"name": name},
        headers={**bearer(token), "Connection": "close"},
        timeout=10,
    )


# -- the embedded default: one count for the machine's workers ---------------------------


def test_sign_in_attempts_count_across_every_worker_with_the_defaults(
    tmp_path: Path, servers: list[LiveServer]
) -> None:
    """Ten wrong passwords a minute means ten, whichever of five workers answers each."""
    server = start_server(
        tmp_path, workers=5, extra_env={"FLASK_SIGN_IN_RATE_LIMIT": "10 per minute"}
    )
    servers.append(server)
    server.user_token("guessed", PASSWORD)
    answers = [sign_in(server, "guessed", "wrong-password") for _ in range(14)]
    assert answers == [422] * 10 + [429] * 4
    # Every worker refuses the right password too, for this address, until the minute is over.
    assert sign_in(server, "guessed", PASSWORD) == 429
    assert (server.instance / "rate-limits.sqlite3").stat().st_mode & 0o077 == 0


def test_api_writes_count_across_every_worker_with_the_defaults(
    tmp_path: Path, servers: list[LiveServer]
) -> None:
    server = start_server(
        tmp_path, workers=4, extra_env={"FLASK_API_WRITE_RATE_LIMIT": "5 per minute"}
    )
    servers.append(server)
    token = server.user_token("counted", PASSWORD)
    answers = [post_problem(server, token, f"Counted {i}") for i in range(9)]
    assert [a.status_code for a in answers] == [201] * 5 + [429] * 4
    assert [a.headers["X-RateLimit-Remaining"] for a in answers[:5]] == ["4", "3", "2", "1", "0"]
    assert answers[-1].json().keys() == {"error"}
    assert int(answers[-1].headers["Retry-After"]) > 0


# -- Redis, failing -----------------------------------------------------------------------


class Redis:
    """A redis-server of the test's own, which it can stop, start again, pause and fill."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process = start_redis(self.port, folder / "redis.log")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)

    def start(self) -> None:
        self.process = start_redis(self.port, self.folder / "redis.log")

    def client(self) -> redis.Redis:
        return redis.Redis(port=self.port, socket_timeout=5)


@pytest.fixture
def redis_limits(tmp_path: Path) -> Iterator[Redis]:
    server = Redis(tmp_path)
    yield server
    if server.process.poll() is None:
        os.kill(server.process.pid, signal.SIGCONT)
        server.stop()


def limited_server(tmp_path: Path, limits: Redis) -> LiveServer:
    """Three workers counting in ``limits``: 4 API writes a minute per token, 3 sign-ins."""
    return start_server(
        tmp_path,
        workers=3,
        extra_env={
            "FLASK_RATELIMIT_STORAGE_URI": limits.url,
            "FLASK_API_WRITE_RATE_LIMIT": "4 per minute",
            "FLASK_SIGN_IN_RATE_LIMIT": "3 per minute",
        },
    )


@pytest.mark.own_backend(reason="a redis-server of its own for the limits, stopped")
def test_a_stopped_redis_leaves_limits_to_each_worker_and_answers_every_write(
    tmp_path: Path, redis_limits: Redis, servers: list[LiveServer]
) -> None:
    server = limited_server(tmp_path, redis_limits)
    servers.append(server)
    token = server.user_token("stopped", PASSWORD)
    assert post_problem(server, token, "Before").status_code == 201
    redis_limits.stop()

    # Each worker counts in memory: 4 a minute each, so 3 workers allow 12 at most.
    answers = [post_problem(server, token, f"While stopped {i}") for i in range(20)]
    statuses = [a.status_code for a in answers]
    assert set(statuses) <= {201, 429}, statuses
    assert 4 <= statuses.count(201) <= 12, statuses
    # Which worker takes the last request is the kernel's choice: any refusal says how long.
    refused = [a for a in answers if a.status_code == 429]
    assert refused and all(int(a.headers["Retry-After"]) > 0 for a in refused)
    made = requests.get(server.url("/api/problems"), timeout=10).json()
    assert len(made) == 1 + statuses.count(201)  # nothing written by a refused request
    patched = requests.patch(
        server.url(f"/api/problems/{made[0]['id']}"),
        json={"difficulty": "hard"},
        headers={**bearer(server.user_token("other", PASSWORD)), "Connection": "close"},
        timeout=10,
    )
    assert patched.status_code == 403  # answered by the view, not a 500 of the limiter
    assert sign_in(server, "stopped", PASSWORD) == 303

    redis_limits.start()  # an empty Redis: back to one count for every worker
    time.sleep(2.5)  # each worker tries the storage again after 1, then 2 seconds
    fresh = server.user_token("fresh", PASSWORD)
    statuses = [post_problem(server, fresh, f"After {i}").status_code for i in range(12)]
    assert statuses.count(201) <= 4 + 2, statuses  # a worker still in memory may allow a few
    assert statuses[-4:] == [429] * 4, statuses
    assert "Traceback" not in server.log()


@pytest.mark.own_backend(reason="a redis-server of its own for the limits, paused with SIGSTOP")
def test_a_paused_redis_costs_a_write_a_fraction_of_a_second(
    tmp_path: Path, redis_limits: Redis, servers: list[LiveServer]
) -> None:
    server = limited_server(tmp_path, redis_limits)
    servers.append(server)
    token = server.user_token("paused", PASSWORD)
    assert post_problem(server, token, "Awake").status_code == 201
    os.kill(redis_limits.process.pid, signal.SIGSTOP)
    try:
        slowest = 0.0
        statuses = []
        for i in range(8):
            started = time.monotonic()
            statuses.append(post_problem(server, token, f"Asleep {i}").status_code)
            slowest = max(slowest, time.monotonic() - started)
            # A sign-in checks a password (slow by design): its status, not its time.
            statuses.append(sign_in(server, "paused", PASSWORD))
        assert set(statuses) <= {201, 303, 429}, statuses
        assert 201 in statuses and 303 in statuses
        # The contract: two socket timeouts (0.25 s) at most, not redis-py's retries
        # (5 s before). A generous bound, for a loaded machine (two suites on two
        # cores), still well below those retries.
        assert slowest < 3.0, slowest
    finally:
        os.kill(redis_limits.process.pid, signal.SIGCONT)
    assert "Traceback" not in server.log()


@pytest.mark.own_backend(reason="a redis-server of its own for the limits, at maxmemory")
def test_a_full_redis_answers_writes_and_sign_ins(
    tmp_path: Path, redis_limits: Redis, servers: list[LiveServer]
) -> None:
    server = limited_server(tmp_path, redis_limits)
    servers.append(server)
    token = server.user_token("full", PASSWORD)
    client = redis_limits.client()
    client.flushall()  # the token's counter too: only new keys would need memory
    client.config_set("maxmemory-policy", "noeviction")
    client.config_set("maxmemory", "1")
    try:
        with pytest.raises(redis.ResponseError, match="maxmemory"):
            client.set("probe", "x")
        statuses = [post_problem(server, token, f"Crammed {i}").status_code for i in range(6)]
        assert set(statuses) <= {201, 429} and statuses[0] == 201, statuses
        assert sign_in(server, "full", PASSWORD) == 303
    finally:
        client.config_set("maxmemory", "0")
        client.close()
    assert "Traceback" not in server.log()
