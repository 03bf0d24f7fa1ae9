"""End to end: read-after-write holds whatever the cache does (gunicorn, 3 or 4 workers).

Every test makes a write, is answered, and then reads through every worker
and by every spelling of the URL, with the cache working, failing or
recovering: no read may show the old data.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
import requests

from devservers.postgres import postgres_cluster
from devservers.processes import free_port
from devservers.redis import start_redis
from tests.support.full_disk import FLAG
from tests.support.http import create_token
from tests.support.servers import LiveServer, serving
from tests.support.workers import LOGGED, miss_then_hits, read_everywhere


def spellings(problem_id: int) -> list[str]:
    """Ways to write one problem's URL that Werkzeug routes to its view."""
    return [
        f"/api/problems/{problem_id}",
        f"//api/problems/{problem_id}",
        f"///api/problems/{problem_id}",
        f"/api/problems/0{problem_id}",
        f"/api/problems/000{problem_id}",
        f"//api/problems/00{problem_id}",
        f"/api/problem%73/{problem_id}",
    ]


LIST_SPELLINGS = ["/api/problems", "//api/problems", "///api/problems", "/api/problem%73"]


def get(server: LiveServer, path: str, **kwargs: Any) -> requests.Response:
    return requests.get(server.url(path), timeout=10, **kwargs)


def assert_shows(server: LiveServer, problem_id: int, name: str | None) -> None:
    """Every spelling, on (very likely) every worker, shows ``name`` (None: deleted)."""
    for path in spellings(problem_id):
        for _ in range(6):
            raw = get(server, path, allow_redirects=False)
            if raw.status_code == 308:
                assert raw.headers["Location"] == f"/api/problems/{problem_id}", path
            followed = get(server, path)
            if name is None:
                assert followed.status_code == 404, (path, followed.text)
            else:
                assert followed.status_code == 200, (path, followed.text)
                assert followed.json()["name"] == name, (path, followed.headers.get("X-Cache"))
    for path in LIST_SPELLINGS:
        for _ in range(6):
            names = {p["id"]: p["name"] for p in get(server, path).json()}
            assert names.get(problem_id) == name, (path, names)
    stats = get(server, "//api/stats").json()
    assert stats["total"] == len(get(server, "/api/problems").json())


def write(
    server: LiveServer, auth: dict[str, str], method: str, path: str, **json: Any
) -> requests.Response:
    response = requests.request(
        method, server.url(path), json=json or None, headers=auth, timeout=10
    )
    assert response.status_code in (200, 201, 204), response.text
    return response


# -- URL spellings -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with serving(tmp_path_factory.mktemp("cache-faults"), workers=3, extra_env=LOGGED) as live:
        yield live


def test_every_spelling_shows_every_write(server: LiveServer) -> None:
    every_spelling_shows_every_write(server)


@pytest.mark.own_backend(reason="a PostgreSQL and a Redis of its own")
def test_every_spelling_shows_every_write_on_postgres_and_redis(
    tmp_path: Path,
    redis_url: str,
    request: pytest.FixtureRequest,
) -> None:
    env = redis_env(redis_url)
    env["FLASK_SQLALCHEMY_DATABASE_URI"] = request.getfixturevalue("postgres").url
    with serving(tmp_path, workers=3, extra_env=env) as server:
        every_spelling_shows_every_write(server)


def every_spelling_shows_every_write(server: LiveServer) -> None:
    auth = create_token(server, "speller")
    made = write(server, auth, "POST", "/api/problems", name="Spelled Once")
    problem_id = made.json()["id"]
    assert_shows(server, problem_id, "Spelled Once")
    write(server, auth, "PATCH", f"//api/problems/0{problem_id}", name="Spelled Twice")
    assert_shows(server, problem_id, "Spelled Twice")
    write(server, auth, "DELETE", f"/api/problems/{problem_id}")
    assert_shows(server, problem_id, None)


def test_a_non_canonical_spelling_is_redirected_to_the_canonical_url(server: LiveServer) -> None:
    raw = get(server, "//api/problems?x=1", allow_redirects=False)
    assert (raw.status_code, raw.headers["Location"]) == (308, "/api/problems?x=1")
    head = requests.head(server.url("/api/problems/0001"), timeout=10)
    assert (head.status_code, head.headers["Location"]) == (308, "/api/problems/1")
    # Text that cannot be an id is no spelling of one.
    for path in ("/api/problems/1.", "/api/problems/x", "/api/problems/2147483648"):
        missing = get(server, path, allow_redirects=False)
        assert missing.status_code == 404, path
        assert missing.json() == {"error": "Problem not found"}


def test_inventing_urls_does_not_grow_the_store(server: LiveServer) -> None:
    auth = create_token(server, "inventor")
    problem_id = write(server, auth, "POST", "/api/problems", name="Invented").json()["id"]
    get(server, f"/api/problems/{problem_id}")
    # Stored once its MISS was sent: the next GET waits for that, then hits.
    assert get(server, f"/api/problems/{problem_id}").headers["X-Cache"] == "HIT"
    cache_dir = server.instance / "cache"

    def stored() -> int:
        if server.env.get("FLASK_CACHE_TYPE") == "RedisCache":  # PRACTICE_TEST_BACKEND
            with redis.Redis.from_url(server.env["FLASK_CACHE_REDIS_URL"]) as client:
                return len(client.keys(server.env["FLASK_CACHE_KEY_PREFIX"] + "*"))
        return sum(1 for _ in cache_dir.iterdir())

    before = stored()
    for slashes in range(2, 300):
        response = get(server, "/" * slashes + f"api/problems/{problem_id}", allow_redirects=False)
        assert response.status_code == 308
    for zeros in range(1, 50):
        response = get(server, f"/api/problems/{'0' * zeros}{problem_id}", allow_redirects=False)
        assert response.status_code in (308, 404)  # redirected, or too long to be an id
    assert stored() == before


@pytest.mark.sqlite_only(reason="corrupts the file cache's files")
def test_a_corrupt_cache_file_is_replaced(server: LiveServer) -> None:
    get(server, "/api/clock/static")
    cache_dir = server.instance / "cache"
    for path in cache_dir.iterdir():
        if path.is_file():
            path.write_bytes(b"\x00\x00\x00\x00garbage that is not a pickle")
    first = get(server, "/api/clock/static")
    assert first.status_code == 200
    states = {get(server, "/api/clock/static").headers.get("X-Cache") for _ in range(12)}
    assert "HIT" in states, states


# -- a full disk -------------------------------------------------------------------------


class FullDisk:
    """The cache directory's disk, which a test fills and frees.

    A 2 MiB tmpfs, really filled, where the tests may mount one (root);
    elsewhere a backend that refuses writes while a flag file exists.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.mounted = (
            subprocess.run(
                ["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(folder)],
                capture_output=True,
                check=False,
            ).returncode
            == 0
        )
        self.filler = folder / "filler"
        self.flag = folder.with_name("disk-is-full")
        self.env = {"FLASK_CACHE_DIR": str(folder / "cache")}
        if not self.mounted:
            self.env.update(
                {"FLASK_CACHE_TYPE": "tests.support.full_disk.FullDiskCache", FLAG: str(self.flag)}
            )

    def fill(self) -> None:
        if not self.mounted:
            self.flag.touch()
            return
        with self.filler.open("wb") as handle:
            try:
                while True:
                    handle.write(b"\0" * 65536)
                    handle.flush()
            except OSError:
                pass

    def free(self) -> None:
        self.filler.unlink(missing_ok=True)
        self.flag.unlink(missing_ok=True)

    def unmount(self) -> None:
        if self.mounted:
            subprocess.run(["umount", "-l", str(self.folder)], check=False)


@pytest.fixture
def full_disk(tmp_path: Path) -> Iterator[FullDisk]:
    folder = tmp_path / "small-disk"
    folder.mkdir()
    disk = FullDisk(folder)
    try:
        yield disk
    finally:
        disk.unmount()


@pytest.mark.sqlite_only(reason="fills the file cache's disk")
def test_a_full_disk_never_serves_old_data(tmp_path: Path, full_disk: FullDisk) -> None:
    with serving(tmp_path, workers=3, extra_env={**LOGGED, **full_disk.env}) as server:
        auth = create_token(server, "filler")
        problem_id = write(server, auth, "POST", "/api/problems", name="Before").json()["id"]
        read_everywhere(server, "/api/problems", lambda r: None)
        read_everywhere(server, f"/api/problems/{problem_id}", lambda r: None)
        full_disk.fill()
        write(server, auth, "PATCH", f"/api/problems/{problem_id}", name="During")
        assert_shows(server, problem_id, "During")
        full_disk.free()
        assert_shows(server, problem_id, "During")
        full_disk.fill()
        write(server, auth, "DELETE", f"/api/problems/{problem_id}")
        assert_shows(server, problem_id, None)
        full_disk.free()
        assert_shows(server, problem_id, None)

        def empty(response: requests.Response) -> None:
            assert response.json() == []

        # And the cache works again, once each worker's pause after a failure
        # (FLASK_CACHE_RETRY_SECONDS, 1 s) is over.
        time.sleep(1.5)
        read_everywhere(server, "/api/problems", empty)


# -- Redis out of memory, and paused ----------------------------------------------------


def redis_env(url: str) -> dict[str, str]:
    return {**LOGGED, "FLASK_CACHE_TYPE": "RedisCache", "FLASK_CACHE_REDIS_URL": url}


@pytest.mark.own_backend(reason="a redis-server of its own at maxmemory")
def test_redis_out_of_memory_never_serves_old_data(
    tmp_path: Path,
    redis_url: str,
) -> None:
    client = redis.Redis.from_url(redis_url)
    with serving(tmp_path, workers=3, extra_env=redis_env(redis_url)) as server:
        auth = create_token(server, "oom")
        problem_id = write(server, auth, "POST", "/api/problems", name="Roomy").json()["id"]
        read_everywhere(server, "/api/problems", lambda r: None)
        read_everywhere(server, f"/api/problems/{problem_id}", lambda r: None)
        client.config_set("maxmemory-policy", "noeviction")
        client.config_set("maxmemory", "1")
        try:
            with pytest.raises(redis.ResponseError, match="maxmemory"):
                client.set("probe", "x")
            write(server, auth, "PATCH", f"/api/problems/{problem_id}", name="Cramped")
            assert_shows(server, problem_id, "Cramped")
        finally:
            client.config_set("maxmemory", "0")
        assert_shows(server, problem_id, "Cramped")
        client.config_set("maxmemory", "1")
        try:
            write(server, auth, "DELETE", f"/api/problems/{problem_id}")
            assert_shows(server, problem_id, None)
        finally:
            client.config_set("maxmemory", "0")
        assert_shows(server, problem_id, None)
        assert "invalidation failed" not in server.log()
    client.close()


def redis_pid(url: str) -> int:
    client = redis.Redis.from_url(url)
    try:
        return int(client.info("server")["process_id"])
    finally:
        client.close()


@pytest.mark.own_backend(reason="a redis-server of its own, paused with SIGSTOP")
def test_a_paused_redis_costs_little_and_serves_nothing_old(
    tmp_path: Path,
    redis_url: str,
) -> None:
    with serving(tmp_path, workers=3, extra_env=redis_env(redis_url)) as server:
        auth = create_token(server, "pauser")
        problem_id = write(server, auth, "POST", "/api/problems", name="Awake").json()["id"]
        read_everywhere(server, "/api/problems", lambda r: None)
        read_everywhere(server, f"/api/problems/{problem_id}", lambda r: None)
        pid = redis_pid(redis_url)
        os.kill(pid, signal.SIGSTOP)
        try:
            # Entries the workers hold and the database still vouches for need
            # no Redis; these do: after the PATCH every page shows the new
            # name, and the clocks were never stored. Each render tries to
            # store its response in the paused Redis.
            write(server, auth, "PATCH", f"/api/problems/{problem_id}", name="Asleep")
            paths = ["/api/problems", f"/api/problems/{problem_id}", "/api/stats"]
            paths += ["/api/clock/static", "/api/clock/revalidate"]
            slowest = 0.0
            for path in paths * 3:
                started = time.monotonic()
                assert get(server, path).status_code == 200
                slowest = max(slowest, time.monotonic() - started)
            # The contract: a fraction of a second at most (the Redis socket timeout),
            # not 10 s. The bound is generous, for a loaded machine (two suites on two
            # cores), and still far below 10 s.
            assert slowest < 3.0, slowest
            assert_shows(server, problem_id, "Asleep")
        finally:
            os.kill(pid, signal.SIGCONT)
        # Redis wakes up holding the old entries: they are never served.
        assert_shows(server, problem_id, "Asleep")


# -- concurrent readers and writers ------------------------------------------------------


@pytest.mark.parametrize(
    "backends",
    [
        "sqlite+files",  # in the PostgreSQL + Redis run: the session's, like every server
        pytest.param(
            "postgresql+redis",
            marks=pytest.mark.own_backend(reason="a PostgreSQL and a Redis of its own"),
        ),
    ],
)
def test_no_read_after_an_acknowledged_write_is_stale(
    tmp_path: Path, backends: str, request: pytest.FixtureRequest
) -> None:
    """200 PATCHes one after another, four readers; each read shows the last acknowledged one."""
    env: dict[str, str] = {}
    if backends == "postgresql+redis":
        env = redis_env(request.getfixturevalue("redis_url"))
        env["FLASK_SQLALCHEMY_DATABASE_URI"] = request.getfixturevalue("postgres").url
    with serving(tmp_path, workers=3, extra_env=env) as server:
        auth = create_token(server, "racer")
        problem_id = write(server, auth, "POST", "/api/problems", name="Race 0").json()["id"]
        acknowledged = [0]
        done = threading.Event()
        stale: list[tuple[str, int, int]] = []
        reads = [0]

        def version(name: str) -> int:
            return int(name.split()[-1])

        def reader(path: str) -> None:
            session = requests.Session()
            while not done.is_set():
                floor = acknowledged[0]
                body = session.get(server.url(path), timeout=10).json()
                name = (
                    body["name"]
                    if isinstance(body, dict)
                    else next(p["name"] for p in body if p["id"] == problem_id)
                )
                reads[0] += 1
                if version(name) < floor:
                    stale.append((path, version(name), floor))

        paths = ["/api/problems", f"/api/problems/{problem_id}"] * 2
        threads = [threading.Thread(target=reader, args=(path,)) for path in paths]
        for thread in threads:
            thread.start()
        try:
            session = requests.Session()
            for number in range(1, 201):
                patched = session.patch(
                    server.url(f"/api/problems/{problem_id}"),
                    json={"name": f"Race {number}"},
                    headers=auth,
                    timeout=10,
                )
                assert patched.status_code == 200, patched.text
                acknowledged[0] = number
        finally:
            done.set()
            for thread in threads:
                thread.join()
        assert stale == [], stale[:5]
        assert reads[0] > 200


# -- the database stops -----------------------------------------------------------------


@pytest.mark.own_backend(reason="a PostgreSQL cluster of its own, stopped and started")
def test_a_stopped_database_is_never_answered_from_the_cache(tmp_path: Path) -> None:
    """Without the database no entry can be shown current: 5xx as JSON, then back on its own."""
    with postgres_cluster(free_port()) as postgres:
        env = {**LOGGED, "FLASK_SQLALCHEMY_DATABASE_URI": postgres.url}
        with serving(tmp_path, workers=3, extra_env=env) as server:
            auth = create_token(server, "stopper")
            made = write(server, auth, "POST", "/api/problems", name="Durable")
            read_everywhere(server, "/api/problems", lambda r: None)
            postgres.stop()
            for _ in range(6):
                started = time.monotonic()
                down = get(server, "/api/problems")
                assert down.status_code in (500, 503), down.text
                assert "error" in down.json()
                # Refused at once (connection refused), not held until the client's
                # 10 s timeout: a generous bound below it, for a loaded machine.
                assert time.monotonic() - started < 8
            postgres.start()
            # Back on its own at once: every request after the restart is answered.
            write(server, auth, "POST", "/api/problems", name="After")

            def durable(response: requests.Response) -> None:
                assert [p["name"] for p in response.json()] == ["Durable", "After"]

            read_everywhere(server, "/api/problems", durable)
            # A restart no request saw: each worker's pool holds connections to the old
            # server, and the first request on each must still be answered, no 5xx
            # (pool_pre_ping replaces a dead connection before it is used).
            postgres.stop()
            postgres.start()
            write(server, auth, "PATCH", made.headers["Location"], name="Durable Again")

            def renamed(response: requests.Response) -> None:
                assert [p["name"] for p in response.json()] == ["Durable Again", "After"]

            read_everywhere(server, "/api/problems", renamed)


# -- Redis stopped in the middle of a load, and started again ----------------------------


@pytest.mark.own_backend(reason="a redis-server of its own, stopped and started")
def test_redis_stopped_mid_load_costs_no_5xx_and_caches_again_when_back(
    tmp_path: Path,
    redis_url: str,
) -> None:
    port = int(redis_url.split(":")[-1].split("/")[0])
    with serving(tmp_path, workers=3, extra_env=redis_env(redis_url)) as server:
        auth = create_token(server, "redis-stopper")
        problem_id = write(server, auth, "POST", "/api/problems", name="Load 0").json()["id"]
        phase = ["up"]
        answers: list[tuple[str, str, int, str | None]] = []  # phase, what, status, X-Cache
        stop = threading.Event()

        def read(path: str) -> None:
            with requests.Session() as session:
                while not stop.is_set():
                    now = phase[0]
                    try:
                        response = session.get(server.url(path), timeout=10)
                    except requests.RequestException:
                        answers.append((now, path, 0, None))
                        continue
                    answers.append(
                        (now, path, response.status_code, response.headers.get("X-Cache"))
                    )

        def rename() -> None:
            with requests.Session() as session:
                number = 0
                while not stop.is_set():
                    number += 1
                    now = phase[0]
                    try:
                        status = session.patch(
                            server.url(f"/api/problems/{problem_id}"),
                            json={"name": f"Load {number}"},
                            headers=auth,
                            timeout=10,
                        ).status_code
                    except requests.RequestException:
                        status = 0
                    answers.append((now, "PATCH", status, None))
                    time.sleep(0.05)

        paths = ["/api/problems", f"/api/problems/{problem_id}", "/api/stats"]
        paths += ["/api/search?q=load", "/api/clock/static"]
        threads = [threading.Thread(target=read, args=(path,)) for path in paths]
        threads.append(threading.Thread(target=rename))
        for thread in threads:
            thread.start()
        restarted: subprocess.Popen[bytes] | None = None
        try:
            try:
                time.sleep(1)
                os.kill(redis_pid(redis_url), signal.SIGTERM)
                deadline = time.monotonic() + 10
                while True:
                    try:
                        redis_pid(redis_url)
                    except redis.ConnectionError:
                        break
                    assert time.monotonic() < deadline, "redis-server did not stop"
                    time.sleep(0.05)
                phase[0] = "down"
                time.sleep(3)
                phase[0] = "starting"
                restarted = start_redis(port, tmp_path / "redis-again.log")
                phase[0] = "back"
                time.sleep(2)
            finally:
                stop.set()
                for thread in threads:
                    thread.join(30)
            # Caching again: after a write, one worker renders the response and
            # stores it in Redis (started empty); every worker then answers it
            # from the cache, the others from Redis's copy.
            write(server, auth, "PATCH", f"/api/problems/{problem_id}", name="Back")

            def renamed(response: requests.Response) -> None:
                assert response.json()["name"] == "Back"

            states = read_everywhere(server, f"/api/problems/{problem_id}", renamed)
            client = redis.Redis(port=port)
            stored = client.keys("practice:view:*")
            client.close()
        finally:
            if restarted is not None:
                restarted.terminate()
                restarted.wait(10)

        down = [answer for answer in answers if answer[0] == "down"]
        assert len(down) > 20, "the load was meant to go on while Redis was down"
        # No 5xx, and no request left unanswered (0), whatever Redis did.
        assert [answer for answer in answers if answer[2] != 200] == []
        # While it was down the app answered without it: responses it could not
        # check against a stored copy were made afresh and not stored.
        assert any(cache is None for _, what, _, cache in down if what == paths[0])
        assert miss_then_hits(states), states
        assert stored
