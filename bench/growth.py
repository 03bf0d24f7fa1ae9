"""Growth: how the read path's costs grow with the catalogue, on SQLite and on PostgreSQL.

    make bench-growth               # or: .venv/bin/python bench/growth.py [--help]

For 1,000, 10,000 and 100,000 problems (the same problems: each catalogue is
the one before plus more), on SQLite with the file-system cache and on
PostgreSQL with Redis, it serves each catalogue with gunicorn the way the
outside harness does (``-w 4 -k gthread --threads 2``) and measures, in
interleaved rounds: a search that matches exactly one problem (every name
holds a unique token, ``k000042``) and one that matches none, the cold list
(``GET /api/problems`` right after a ``PATCH``), a list hit against a raw
WSGI app serving the same bytes under the same gunicorn (wrk ``-t1 -c32``),
and the workers' memory. At 1,000 problems it also measures the workers' CPU
per ``POST /api/problems``, the renders a burst of 64 concurrent GETs makes
after a write (the miss counter of ``/metrics``), and, on SQLite, search,
whoami and the list against a Next.js 14 app doing the same routes
(``--next-ref PATH``: its folder, with package.json and package-lock.json)
serving the very same problems; without it, it says Next.js was not measured. It prints Markdown
tables and writes them to bench/results/growth.md. docs/benchmarks.md explains
the rows.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import contextlib
import glob
import hashlib
import json
import os
import random
import re
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.client import HTTPConnection
from importlib import resources
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import common  # noqa: E402
from bench.common import (  # noqa: E402
    Server,
    flask,
    free_port,
    load_text,
    machine,
    serve,
    worker_cpu_seconds,
    worker_rss_mib,
)
from bench.run import (  # noqa: E402
    ACTIONS,
    DIFFICULTIES,
    HOP_HEADERS,
    SUFFIXES,
    TOPICS,
    Captured,
    WrkResult,
    write_capture,
)
from tests.support import backends  # noqa: E402
from tests.support.pg import postgres_cluster  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "growth.md"
NEXT_CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "practice-bench"
LIST = "/api/problems"
WHOAMI = "/api/whoami"
NO_MATCH = "zqxj"  # no name holds it: the index answers "none" without a scan
CREATED = datetime(2026, 1, 1, tzinfo=UTC)
# The outside harness's gunicorn flags (4 workers of 2 threads), and its wrk.
GUNICORN_FLAGS = ["-w", "4", "-k", "gthread", "--threads", "2"]
TARGETS = {
    "search_growth": 3.0,  # p50 at 100,000 / p50 at 1,000
    "cold_small_ms": 15.0,  # the cold list at 1,000
    "cold_large_ms": 1500.0,  # the cold list at 100,000
    "hit_raw": 0.9,  # list hit / raw WSGI, req/s
    "post_cpu_ms": 3.0,  # worker CPU per POST
    "renders": 1,  # per burst of 64 after a write
    "next": 1.5,  # ours / Next.js req/s
}


@dataclass
class Settings:
    sizes: list[int]
    backends: list[str]
    rounds: int
    duration: int
    warmup: int
    connections: int
    search_requests: int
    cold_rounds: int
    cold_warmups: int
    posts: int
    bursts: int
    burst_size: int
    next: bool
    next_ref: Path | None


# -- the data -------------------------------------------------------------------------


def token(index: int) -> str:
    """The unique word of problem ``index`` (0-based): ``k000001``. Digits are in no other word."""
    return f"k{index + 1:06d}"


class Catalogue:
    """The problems, as rows: problem ``i`` is the same in every catalogue that holds it."""

    def __init__(self) -> None:
        seeds = json.loads(
            resources.files("practice_app").joinpath("seed_problems.json").read_text("utf-8")
        )
        self.statements = [seed["statement"] for seed in seeds]
        self.seed_tags = [seed["tags"][:2] for seed in seeds]
        combos = [(a, t, s) for a in ACTIONS for t in TOPICS for s in SUFFIXES]
        random.Random(2026).shuffle(combos)
        self.combos = combos

    def name(self, index: int) -> str:
        action, topic, suffix = self.combos[index % len(self.combos)]
        return f"{action} {topic}{suffix} {token(index)}"

    def rows(
        self, start: int, stop: int, author_id: int
    ) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
        """Rows of problems, problem_tags and problem_grams for problems ``start`` to ``stop``."""
        from practice_app.rules import name_key
        from practice_app.search import name_grams

        problems, tags, grams = [], [], []
        for index in range(start, stop):
            problem_id = index + 1
            name = self.name(index)
            key = name_key(name)
            at = CREATED + timedelta(seconds=index)
            seed = index % len(self.statements)
            topic = self.combos[index % len(self.combos)][1]
            problems.append(
                {
                    "id": problem_id,
                    "name": name,
                    "name_key": key,
                    "difficulty": DIFFICULTIES[index % len(DIFFICULTIES)],
                    "statement": self.statements[seed],
                    "author_id": author_id,
                    "created_at": at,
                    "updated_at": at,
                }
            )
            for position, tag in enumerate(dict.fromkeys([TOPICS[topic], *self.seed_tags[seed]])):
                tags.append({"problem_id": problem_id, "tag": tag, "position": position})
            grams.extend({"gram": gram, "problem_id": problem_id} for gram in name_grams(key))
        return problems, tags, grams


def insert_problems(url: str, catalogue: Catalogue, start: int, stop: int) -> float:
    """Add problems ``start`` to ``stop`` with SQLAlchemy Core, in batches; return seconds.

    Keys and grams are made by the functions ``services`` uses; SQLite's FTS5
    table follows by its triggers, PostgreSQL's GIN index as rows arrive (then
    ANALYZE, and the id sequence moved past the ids given here).
    """
    from sqlalchemy import create_engine, insert, select, text

    from practice_app.models import Problem, ProblemGram, ProblemTag, User

    started = time.perf_counter()
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            author_id = conn.scalar(select(User.id).where(User.name == "bench"))
            for first in range(start, stop, 5000):
                problems, tags, grams = catalogue.rows(first, min(stop, first + 5000), author_id)
                conn.execute(insert(Problem.__table__), problems)
                conn.execute(insert(ProblemTag.__table__), tags)
                conn.execute(insert(ProblemGram.__table__), grams)
            if engine.dialect.name == "postgresql":
                conn.execute(
                    text(
                        "SELECT setval(pg_get_serial_sequence('problems', 'id'), "
                        "(SELECT max(id) FROM problems))"
                    )
                )
        if engine.dialect.name == "postgresql":
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(text("ANALYZE"))
    finally:
        engine.dispose()
    return time.perf_counter() - started


# -- PostgreSQL and Redis, throw-away ---------------------------------------------------


@contextlib.contextmanager
def postgres() -> Iterator[tuple[str, int]]:
    """The tests' throw-away cluster (tests/support/pg.py, no waiting for the disk) on a free port.

    Yields its URL without a database name, and the postmaster's pid.
    """
    with postgres_cluster(free_port(), session=True) as cluster:
        pid = int((cluster.data / "postmaster.pid").read_text().split()[0])
        yield cluster.url.removesuffix("/postgres"), pid


def postgres_cpu_seconds(postmaster: int) -> float:
    """CPU time of the cluster's processes (the postmaster's children) so far."""
    total = 0.0
    for stat in glob.glob("/proc/[0-9]*/stat"):
        try:
            fields = Path(stat).read_text().rsplit(")", 1)[1].split()
            if int(fields[1]) != postmaster:
                continue
            schedstat = Path(stat).with_name("schedstat").read_text()
            total += int(schedstat.split()[0]) / 1e9
        except (OSError, ValueError, IndexError):
            continue
    return total


def redis_server(folder: Path) -> contextlib.AbstractContextManager[str]:
    """The tests' throw-away redis-server (tests/support/backends.py) on a free port: its URL."""
    return backends.redis_server(free_port(), folder)


# -- the catalogues --------------------------------------------------------------------


@dataclass
class Instance:
    """One catalogue, ready to serve: its environment and the API token of its admin."""

    backend: str
    size: int
    env: dict[str, str]
    token: str
    load_s: float = 0.0


def base_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FLASK_", "PRACTICE_"))}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)  # gunicorn.conf.py makes one per server
    env.update(
        {
            "PRACTICE_ACCESS_LOG": "0",
            "PRACTICE_LOG_LEVEL": "warning",
            "FLASK_API_WRITE_RATE_LIMIT": "1000000 per minute",
        }
    )
    return env


def sqlite_instances(folder: Path, sizes: list[int], catalogue: Catalogue) -> list[Instance]:
    """One SQLite file per size, each the one before plus more; the file-system cache."""
    instances: list[Instance] = []
    previous: Instance | None = None
    for size in sizes:
        database = folder / f"sqlite-{size}.sqlite3"
        env = {
            **base_env(),
            "PRACTICE_APP_INSTANCE": str(folder / f"instance-sqlite-{size}"),
            "FLASK_SQLALCHEMY_DATABASE_URI": f"sqlite:///{database}",
        }
        if previous is None:
            flask(env, "db", "upgrade")
            api_token = make_admin(env)
            start = 0
        else:
            source = sqlite3.connect(previous.env["FLASK_SQLALCHEMY_DATABASE_URI"][10:])
            target = sqlite3.connect(database)
            with target:
                source.backup(target)
            source.close()
            target.close()
            api_token, start = previous.token, previous.size
        print(f"SQLite: loading problems {start + 1:,} to {size:,} ...", flush=True)
        seconds = insert_problems(env["FLASK_SQLALCHEMY_DATABASE_URI"], catalogue, start, size)
        previous = Instance("sqlite", size, env, api_token, seconds)
        instances.append(previous)
    return instances


def postgres_instances(
    base_url: str, redis_url: str, folder: Path, sizes: list[int], catalogue: Catalogue
) -> list[Instance]:
    """One database per size, each a copy (TEMPLATE) of the one before plus more; Redis."""
    import psycopg

    instances: list[Instance] = []
    previous: Instance | None = None
    admin = base_url.replace("postgresql+psycopg://", "postgresql://") + "/postgres"
    for size in sizes:
        name = f"growth_{size}"
        with psycopg.connect(admin, autocommit=True) as conn:
            template = f" TEMPLATE growth_{previous.size}" if previous else ""
            conn.execute(f"CREATE DATABASE {name}{template}")
        env = {
            **base_env(),
            "PRACTICE_APP_INSTANCE": str(folder / f"instance-pg-{size}"),
            "FLASK_SQLALCHEMY_DATABASE_URI": f"{base_url}/{name}",
            "FLASK_CACHE_TYPE": "RedisCache",
            "FLASK_CACHE_REDIS_URL": redis_url,
            "FLASK_CACHE_KEY_PREFIX": f"growth{size}:",
        }
        if previous is None:
            flask(env, "db", "upgrade")
            api_token, start = make_admin(env), 0
        else:
            api_token, start = previous.token, previous.size
        print(f"PostgreSQL: loading problems {start + 1:,} to {size:,} ...", flush=True)
        seconds = insert_problems(env["FLASK_SQLALCHEMY_DATABASE_URI"], catalogue, start, size)
        previous = Instance("postgres", size, env, api_token, seconds)
        instances.append(previous)
    return instances


def make_admin(env: dict[str, str]) -> str:
    """The user ``bench`` (an admin, the problems' author) and an API token, by the CLI."""
    password = "bench-" + os.urandom(12).hex()
    flask(env, "users", "create", "bench", "--admin", stdin=password + "\n")
    return flask(env, "tokens", "create", "bench", "--label", "growth").strip().splitlines()[-1]


# -- servers and requests ------------------------------------------------------------------


def gunicorn(
    name: str, target: str, env: dict[str, str], folder: Path
) -> contextlib.AbstractContextManager[Server]:
    """Serve ``target`` with gunicorn.conf.py and the harness's flags; stop it afterwards."""
    return common.gunicorn(name, target, env, folder, GUNICORN_FLAGS)


def next_server(
    directory: Path, env: dict[str, str], folder: Path
) -> contextlib.AbstractContextManager[Server]:
    """``next start`` of the build in ``env``'s NEXT_DIST_DIR (and the server it runs)."""
    port = free_port()
    command = [str(directory / "node_modules" / ".bin" / "next"), "start", "-p", str(port)]
    return serve(
        "next start",
        port,
        [*command, "-H", "127.0.0.1"],
        env=env,
        log_path=folder / "next.log",
        ready_path=WHOAMI,
        cwd=directory,
        own_group=True,
    )


def call(
    port: int,
    method: str,
    path: str,
    body: Any = None,
    headers: dict[str, str] | None = None,
    timeout: float = 120,
    kept: HTTPConnection | None = None,
) -> tuple[int, dict[str, str], bytes]:
    """One request, on a new connection closed after it, or on ``kept`` (left open)."""
    conn = kept or HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        sent = dict(headers or {})
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            sent["Content-Type"] = "application/json"
        conn.request(method, path, body=data, headers=sent)
        response = conn.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        if kept is None:
            conn.close()


def timed(port: int, method: str, path: str, **kwargs: Any) -> tuple[float, int, dict[str, str]]:
    """Milliseconds of one request, its status and headers."""
    started = time.perf_counter()
    status, headers, _body = call(port, method, path, **kwargs)
    return (time.perf_counter() - started) * 1000, status, headers


def capture_hit(port: int, path: str) -> Captured:
    """Warm ``path`` until it is a hit; return the hit's status line, headers and body."""
    for _ in range(10):
        status, headers, body = call(port, "GET", path)
        if headers.get("X-Cache") == "HIT":
            kept = [(k, v) for k, v in headers.items() if k.lower() not in HOP_HEADERS]
            return f"{status} OK", kept, body
    raise RuntimeError(f"{path} never answered X-Cache: HIT; headers: {headers}")


def wrk(port: int, path: str, settings: Settings, server: Server | None = None) -> WrkResult:
    """A warm-up, then the measured run, of ``wrk -t1 -c<connections>`` against ``path``."""
    url = f"http://127.0.0.1:{port}{path}"
    base = ["wrk", "-t1", f"-c{settings.connections}", "--latency", "--timeout", "30s"]
    subprocess.run([*base, f"-d{settings.warmup}s", url], capture_output=True, check=True)
    cpu_before = worker_cpu_seconds(server) if server else 0.0
    done = subprocess.run(
        [*base, f"-d{settings.duration}s", url], capture_output=True, text=True, check=True
    )
    result = WrkResult.parse(done.stdout)
    if server is not None:
        cpu = worker_cpu_seconds(server) - cpu_before
        result.cpu_us_per_request = cpu / max(result.requests, 1) * 1e6
    return result


MISS_LINE = re.compile(r"^practice_cache_results_total\{([^}]*)\}\s+([0-9.e+]+)$", re.MULTILINE)


def renders(port: int, route: str) -> float:
    """The miss counter of ``route`` in /metrics (summed over the workers): renders stored."""
    status, _headers, body = call(port, "GET", "/metrics")
    if status != 200:
        raise RuntimeError(f"/metrics answered {status}")
    total = 0.0
    for labels, value in MISS_LINE.findall(body.decode()):
        if f'route="{route}"' in labels and 'result="miss"' in labels:
            total += float(value)
    return total


# -- the measurements ------------------------------------------------------------------------


@dataclass
class SizeResult:
    backend: str
    size: int
    load_s: float
    list_bytes: int = 0
    search_one: list[float] = field(default_factory=list)  # ms, every request
    search_one_rounds: list[float] = field(default_factory=list)  # p50 of each round
    search_none: list[float] = field(default_factory=list)
    cold: list[float] = field(default_factory=list)  # ms, one per round
    hit: list[WrkResult] = field(default_factory=list)
    raw: list[WrkResult] = field(default_factory=list)
    rss: list[float] = field(default_factory=list)
    raw_rss: list[float] = field(default_factory=list)
    unstored: int = 0  # cold lists rendered but not stored (the backend failed)
    no_hit: str = ""  # why the list never became a hit


@dataclass
class BackendResult:
    backend: str
    sizes: list[SizeResult]
    # Worker CPU per POST, each round: on one kept-alive connection, and on a new one each.
    post_cpu_ms: list[float] = field(default_factory=list)
    post_new_cpu_ms: list[float] = field(default_factory=list)
    post_db_cpu_ms: list[float] = field(default_factory=list)  # PostgreSQL's, each round
    post_ms: list[float] = field(default_factory=list)  # client latency, every POST (kept alive)
    post_new_ms: list[float] = field(default_factory=list)  # and on a new connection each
    bursts: list[int] = field(default_factory=list)  # renders per burst
    burst_answers: Counter[str] = field(default_factory=Counter)
    burst_ms: list[float] = field(default_factory=list)


def search_rounds(
    servers: dict[int, Server], results: dict[int, SizeResult], settings: Settings, number: int
) -> None:
    """One round: one-match and no-match searches on each catalogue in turn, one client."""
    picker = random.Random(number)
    for size, server in servers.items():
        times = []
        for _ in range(settings.search_requests):
            index = picker.randrange(size)
            ms, status, headers = timed(server.port, "GET", f"/api/search?q={token(index)}")
            if status != 200 or headers.get("X-Total-Count") != "1":
                raise RuntimeError(f"search {token(index)}: {status} {headers}")
            times.append(ms)
        results[size].search_one += times
        results[size].search_one_rounds.append(statistics.median(times))
        for _ in range(settings.search_requests // 2):
            ms, status, headers = timed(server.port, "GET", f"/api/search?q={NO_MATCH}")
            if status != 200 or headers.get("X-Total-Count") != "0":
                raise RuntimeError(f"search {NO_MATCH}: {status} {headers}")
            results[size].search_none.append(ms)


def patch(server: Server, api_token: str, number: int) -> None:
    """A write that changes what the list shows: problem 1's difficulty."""
    level = DIFFICULTIES[number % 3]
    auth = {"Authorization": f"Bearer {api_token}"}
    status, _h, body = call(server.port, "PATCH", "/api/problems/1", {"difficulty": level}, auth)
    if status != 200:
        raise RuntimeError(f"PATCH /api/problems/1: {status} {body[:300]!r}")


def cold_list(server: Server, api_token: str, number: int) -> tuple[float, bool, int]:
    """Milliseconds of ``GET /api/problems`` right after a PATCH, and whether it was stored.

    A MISS was stored; an answer without ``X-Cache`` was rendered but could
    not be stored (the backend failed: a Redis timeout on a large entry).
    A MISS is compressed and stored after it is sent: that is waited for, so
    it is not the load under the next measurement.
    """
    stored_before = renders(server.port, LIST)
    patch(server, api_token, number)
    ms, status, headers = timed(server.port, "GET", LIST)
    if status != 200 or headers.get("X-Cache") not in ("MISS", None):
        raise RuntimeError(f"the list after a PATCH: {status} {headers}")
    if headers.get("X-Cache") == "MISS":
        deadline = time.monotonic() + 60
        while renders(server.port, LIST) <= stored_before and time.monotonic() < deadline:
            time.sleep(0.05)
    return ms, headers.get("X-Cache") == "MISS", int(headers.get("Content-Length", 0))


def post_cpu(
    server: Server, api_token: str, settings: Settings, result: BackendResult, postmaster: int
) -> None:
    """Worker CPU per ``POST /api/problems`` (sequential, one client), in rounds.

    Each round measures POSTs on one kept-alive connection (what the write
    costs the app), then POSTs on a new connection each (plus what a
    connection costs: gunicorn's accept, and every idle worker woken by it).
    """
    auth = {"Authorization": f"Bearer {api_token}"}
    for number in range(settings.rounds):
        for kept_alive in (True, False):
            kept = HTTPConnection("127.0.0.1", server.port, timeout=120) if kept_alive else None
            cpu_before = worker_cpu_seconds(server)
            db_before = postgres_cpu_seconds(postmaster) if postmaster else 0.0
            for index in range(settings.posts):
                fields = {
                    "name": f"Growth Post {number}-{kept_alive}-{index}-{os.urandom(4).hex()}",
                    "difficulty": DIFFICULTIES[index % len(DIFFICULTIES)],
                    "tags": ["arrays", "hashing"],
                    "statement": "Given an array of integers, return **the answer**.",
                }
                started = time.perf_counter()
                status, headers, _body = call(
                    server.port, "POST", LIST, body=fields, headers=auth, kept=kept
                )
                ms = (time.perf_counter() - started) * 1000
                if status != 201:
                    raise RuntimeError(f"POST {LIST}: {status}")
                if kept_alive and headers.get("Connection", "").lower() == "close":
                    raise RuntimeError("the server closed the kept-alive connection")
                (result.post_ms if kept_alive else result.post_new_ms).append(ms)
            cpu = (worker_cpu_seconds(server) - cpu_before) / settings.posts * 1000
            (result.post_cpu_ms if kept_alive else result.post_new_cpu_ms).append(cpu)
            if postmaster and kept_alive:
                db_cpu = postgres_cpu_seconds(postmaster) - db_before
                result.post_db_cpu_ms.append(db_cpu / settings.posts * 1000)
            if kept is not None:
                kept.close()


def bursts(server: Server, api_token: str, settings: Settings, result: BackendResult) -> None:
    """After a PATCH, ``burst_size`` concurrent GETs of the list: renders made, per burst."""
    capture_hit(server.port, LIST)
    with concurrent.futures.ThreadPoolExecutor(settings.burst_size) as pool:
        for number in range(settings.bursts):
            before = renders(server.port, LIST)
            patch(server, api_token, number)
            gate = threading.Barrier(settings.burst_size)

            def one(_n: int, gate: threading.Barrier = gate) -> str:
                gate.wait()
                status, headers, _body = call(server.port, "GET", LIST)
                return f"{status} {headers.get('X-Cache', '-')}"

            started = time.perf_counter()
            answers = list(pool.map(one, range(settings.burst_size)))
            result.burst_ms.append((time.perf_counter() - started) * 1000)
            result.burst_answers.update(answers)
            time.sleep(0.2)  # the counter is written by the worker after it answers
            result.bursts.append(round(renders(server.port, LIST) - before))


def measure_backend(
    instances: list[Instance],
    settings: Settings,
    folder: Path,
    postmaster: int,
    next_compare: dict[str, Any] | None,
) -> BackendResult:
    backend = instances[0].backend
    results = {i.size: SizeResult(backend, i.size, i.load_s) for i in instances}
    outcome = BackendResult(backend, list(results.values()))
    with contextlib.ExitStack() as stack:
        servers = {
            i.size: stack.enter_context(gunicorn(f"{backend}-{i.size}", "wsgi:app", i.env, folder))
            for i in instances
        }
        tokens = {i.size: i.token for i in instances}
        # Each worker's first list after start also opens its database
        # connections (the hit path's own among them): not the render's cost.
        print(f"{backend}: {settings.cold_warmups} cold lists to warm the workers ...", flush=True)
        for size, server in servers.items():
            for number in range(settings.cold_warmups):
                cold_list(server, tokens[size], number)
        for number in range(1, settings.cold_rounds + 1):
            print(f"{backend}: round {number}: searches, the cold list ...", flush=True)
            search_rounds(servers, results, settings, number)
            for size, server in servers.items():
                ms, stored, results[size].list_bytes = cold_list(server, tokens[size], number)
                results[size].cold.append(ms)
                results[size].unstored += not stored
        captured = {}
        for size, server in servers.items():
            try:
                captured[size] = capture_hit(server.port, LIST)
            except RuntimeError as err:
                results[size].no_hit = str(err)[:300]
                print(f"{backend} at {size:,}: {err}", file=sys.stderr, flush=True)
        raws: dict[int, Server] = {}
        raw_stack = stack.enter_context(contextlib.ExitStack())
        for size, capture in captured.items():
            results[size].list_bytes = len(capture[2])
            capture_file = folder / f"capture-{backend}-{size}.json"
            write_capture({LIST: capture}, capture_file)
            env = {**base_env(), "BENCH_RAW_CAPTURE": str(capture_file)}
            raws[size] = raw_stack.enter_context(
                gunicorn(f"raw-{backend}-{size}", "bench.raw_wsgi:app", env, folder)
            )
            status, headers, body = call(raws[size].port, "GET", LIST)
            kept = [(k, v) for k, v in headers.items() if k.lower() not in HOP_HEADERS]
            if (f"{status} OK", kept, body) != capture:
                raise RuntimeError(f"the raw app does not replay {LIST} exactly")
        for number in range(1, settings.rounds + 1):
            for size in raws:
                print(f"{backend}: round {number}: wrk hit / raw at {size:,} ...", flush=True)
                results[size].hit.append(wrk(servers[size].port, LIST, settings, servers[size]))
                results[size].raw.append(wrk(raws[size].port, LIST, settings, raws[size]))
                capture_hit(servers[size].port, LIST)  # still a hit after the run
        for size in servers:
            results[size].rss = worker_rss_mib(servers[size])
            results[size].raw_rss = worker_rss_mib(raws[size]) if size in raws else []
        raw_stack.close()  # their memory is measured: leave the machine to what follows
        small = min(servers)
        if next_compare is not None:
            compare_next(servers[small], settings, folder, next_compare)
        print(f"{backend}: bursts of {settings.burst_size} after a PATCH ...", flush=True)
        bursts(servers[small], tokens[small], settings, outcome)
        print(f"{backend}: POST x {settings.posts} x {settings.rounds} ...", flush=True)
        post_cpu(servers[small], tokens[small], settings, outcome, postmaster)
    return outcome


# -- Next.js ---------------------------------------------------------------------------------


def next_query(catalogue: Catalogue, size: int) -> tuple[str, int]:
    """A word of the names that matches as many of ``size`` problems as possible, at most 50.

    Our search answers 50 rows a page and Next's all of them: at 50 or fewer
    both answer the same rows.
    """
    names = [catalogue.name(i).lower() for i in range(size)]
    words = {w.lower() for phrase in [*ACTIONS, *TOPICS] for w in phrase.split() if len(w) > 3}
    counted = {w: sum(w in n for n in names) for w in sorted(words)}
    best = max((n, w) for w, n in counted.items() if n <= 50)
    return best[1], best[0]


def prepare_next(list_body: bytes, source: Path | None) -> tuple[Path, dict[str, str]] | str:
    """A copy of the Next.js app at ``source``, with its packages and a build of ``list_body``.

    Kept under ~/.cache/practice-bench (npm ci once; one build per data), so a
    second run starts at once. Returns its folder and environment, or why not.
    """
    if shutil.which("node") is None or shutil.which("npm") is None:
        return "node and npm are not installed"
    if source is None:
        return "no Next.js app given (--next-ref PATH, or PRACTICE_NEXT_REF)"
    if not (source / "package.json").is_file():
        return f"{source} has no package.json"
    lock = (source / "package-lock.json").read_bytes()
    directory = NEXT_CACHE / f"nextjs-ref-{hashlib.sha256(lock).hexdigest()[:12]}"
    if not (directory / "node_modules" / "next" / "package.json").is_file():
        print(f"Next.js: copying the reference to {directory} and npm ci ...", flush=True)
        shutil.rmtree(directory, ignore_errors=True)
        shutil.copytree(source, directory, ignore=shutil.ignore_patterns("node_modules", ".next*"))
        for path in [directory, *directory.rglob("*")]:
            path.chmod(path.stat().st_mode | 0o200)
        done = subprocess.run(
            ["npm", "ci", "--no-audit", "--no-fund"],
            cwd=directory,
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            return f"npm ci failed: {done.stderr.strip().splitlines()[-1:]}"
    digest = hashlib.sha256(list_body).hexdigest()[:12]
    data = directory / f"problems-{digest}.json"
    data.write_bytes(list_body)
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("NEXT_", "PRACTICE_"))},
        "NEXT_TELEMETRY_DISABLED": "1",
        "NODE_ENV": "production",
        "NEXT_REF_PROBLEMS": str(data),
        "NEXT_DIST_DIR": f".next-growth-{digest}",
    }
    if not (directory / env["NEXT_DIST_DIR"] / "BUILD_ID").is_file():
        print("Next.js: next build ...", flush=True)
        done = subprocess.run(
            [str(directory / "node_modules" / ".bin" / "next"), "build"],
            cwd=directory,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            return f"next build failed: {(done.stdout + done.stderr).strip()[-500:]}"
    return directory, env


def compare_next(ours: Server, settings: Settings, folder: Path, state: dict[str, Any]) -> None:
    """Search, whoami and the list, ours against Next.js on the same data, interleaved."""
    _status, _headers, list_body = call(ours.port, "GET", LIST)
    prepared = prepare_next(list_body, settings.next_ref)
    if isinstance(prepared, str):
        state["error"] = prepared
        print(f"Next.js: not compared: {prepared}", file=sys.stderr, flush=True)
        return
    directory, env = prepared
    query, matches = state["query"], state["matches"]
    search = f"/api/search?q={query}"
    with next_server(directory, env, folder) as theirs:
        _s, _h, their_list = call(theirs.port, "GET", LIST)
        _s, _h, our_search = call(ours.port, "GET", search)
        _s, _h, their_search = call(theirs.port, "GET", search)
        state["same_list"] = their_list == list_body.rstrip(b"\n")
        state["same_search"] = their_search == our_search.rstrip(b"\n")
        state["rows"] = (len(json.loads(our_search)), len(json.loads(their_search)))
        state["next_version"] = json.loads(
            (directory / "node_modules" / "next" / "package.json").read_text()
        )["version"]
        cases = {
            "search": search,
            "whoami": WHOAMI,
            "list": LIST,
        }
        runs: dict[str, dict[str, list[WrkResult]]] = {k: {"ours": [], "next": []} for k in cases}
        for number in range(1, settings.rounds + 1):
            for name, path in cases.items():
                print(f"Next.js: round {number}: wrk {path}, ours then theirs ...", flush=True)
                runs[name]["ours"].append(wrk(ours.port, path, settings, ours))
                runs[name]["next"].append(wrk(theirs.port, path, settings))
        state["runs"] = runs
        state["matches"] = matches


# -- the report ------------------------------------------------------------------------------


def p50(values: list[float]) -> float:
    return statistics.median(values)


def fmt_ms(ms: float) -> str:
    return f"{ms:,.0f} ms" if ms >= 100 else f"{ms:.1f} ms" if ms >= 10 else f"{ms:.2f} ms"


def median_rps(runs: list[WrkResult]) -> WrkResult:
    ordered = sorted(runs, key=lambda r: r.requests_per_s)
    return ordered[(len(ordered) - 1) // 2]


def ratio(ours: list[WrkResult], theirs: list[WrkResult]) -> float:
    """The median over rounds of ours / theirs within the same round."""
    return statistics.median(
        a.requests_per_s / b.requests_per_s for a, b in zip(ours, theirs, strict=True)
    )


def verdict(met: bool) -> str:
    return "met" if met else "**missed**"


LABELS = {
    "sqlite": "SQLite, file-system cache",
    "postgres": "PostgreSQL, Redis cache",
}


def report(
    settings: Settings, outcomes: list[BackendResult], state: dict[str, Any], notes: dict[str, str]
) -> str:
    lines = [
        f"# Growth benchmark, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        "",
        f"- Machine: {machine()}; load average (1, 5, 15 min) before: {notes['load_before']}, "
        f"after: {load_text()}. wrk runs on the same CPUs as gunicorn.",
        f"- gunicorn.conf.py with `{' '.join(GUNICORN_FLAGS)}` (the outside harness's flags), "
        "access log off, for the app and the raw WSGI app alike; wrk "
        f"`-t1 -c{settings.connections} -d{settings.duration}s` after a {settings.warmup} s "
        f"warm-up; {settings.rounds} interleaved rounds of wrk, {settings.cold_rounds} of "
        f"searches and cold lists (after {settings.cold_warmups} cold lists unmeasured).",
        f"- Problems loaded with SQLAlchemy Core (keys by `rules.name_key`, grams by "
        f"`search.name_grams`): {notes['loads']}.",
        "",
        "## Growth",
        "",
        "| Database, cache | Problems | Search, one match, p50 | Search, no match, p50 "
        "| Cold list, median | `/api/problems` | List hit req/s | Raw WSGI req/s | Hit / raw "
        "| Worker RSS (app; raw) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for outcome in outcomes:
        for sized in outcome.sizes:
            unstored = (
                f" ({sized.unstored} of {len(sized.cold)} not stored)" if sized.unstored else ""
            )
            if not sized.hit:
                lines.append(
                    f"| {LABELS[outcome.backend]} | {sized.size:,} "
                    f"| {fmt_ms(p50(sized.search_one))} | {fmt_ms(p50(sized.search_none))} "
                    f"| {fmt_ms(p50(sized.cold))}{unstored} | {size_text(sized.list_bytes)} "
                    f"| never a hit | - | - | {'/'.join(f'{m:.0f}' for m in sized.rss)} MiB |"
                )
                continue
            hit, raw = median_rps(sized.hit), median_rps(sized.raw)
            rss = "/".join(f"{m:.0f}" for m in sized.rss)
            raw_rss = "/".join(f"{m:.0f}" for m in sized.raw_rss)
            lines.append(
                f"| {LABELS[outcome.backend]} | {sized.size:,} | {fmt_ms(p50(sized.search_one))} "
                f"| {fmt_ms(p50(sized.search_none))} | {fmt_ms(p50(sized.cold))}{unstored} "
                f"| {size_text(sized.list_bytes)} | {hit.requests_per_s:,.1f} "
                f"| {raw.requests_per_s:,.1f} | {ratio(sized.hit, sized.raw):.2f} "
                f"| {rss}; {raw_rss} MiB |"
            )
    lines += [
        "",
        "Each round, by catalogue (search p50 of the round; cold list; hit / raw req/s):",
        "",
        "| Database | Problems | Search p50 per round | Cold list per round "
        "| Hit / raw req/s per round |",
        "|---|---:|---|---|---|",
    ]
    for outcome in outcomes:
        for sized in outcome.sizes:
            lines.append(
                f"| {outcome.backend} | {sized.size:,} "
                f"| {' / '.join(f'{v:.2f}' for v in sized.search_one_rounds)} ms "
                f"| {' / '.join(f'{v:,.0f}' for v in sized.cold)} ms "
                f"| {pairs(sized.hit, sized.raw) or 'never a hit'}"
                f"{errors_text(sized.hit + sized.raw)} |"
            )
    lines += [
        "",
        "## At 1,000 problems: writes and bursts",
        "",
        "| Database, cache | Worker CPU per POST, kept-alive connection (median of rounds) "
        "| Each round | POST p50, client | Worker CPU per POST, new connection each "
        "| POST p50, client | PostgreSQL's CPU per POST | Renders per burst of "
        f"{settings.burst_size} after a PATCH | Answers | Burst p50 |",
        "|---|---:|---|---:|---:|---:|---:|---|---|---:|",
    ]
    for outcome in outcomes:
        db_cpu = (
            f"{p50(outcome.post_db_cpu_ms):.2f} ms" if outcome.post_db_cpu_ms else "- (in process)"
        )
        answers = ", ".join(f"{k}: {v:,}" for k, v in sorted(outcome.burst_answers.items()))
        lines.append(
            f"| {LABELS[outcome.backend]} | {p50(outcome.post_cpu_ms):.2f} ms "
            f"| {' / '.join(f'{v:.2f}' for v in outcome.post_cpu_ms)} "
            f"| {fmt_ms(p50(outcome.post_ms))} | {p50(outcome.post_new_cpu_ms):.2f} ms "
            f"| {fmt_ms(p50(outcome.post_new_ms))} | {db_cpu} "
            f"| {', '.join(str(n) for n in outcome.bursts)} | {answers} "
            f"| {fmt_ms(p50(outcome.burst_ms))} |"
        )
    lines += ["", "## Against Next.js 14, same data (1,000 problems, SQLite)", ""]
    runs = state.get("runs")
    if runs is None:
        lines.append(f"Not measured: {state.get('error', 'skipped (--no-next)')}.")
    else:
        rows = state["rows"]
        lines += [
            f"Next.js {state['next_version']} (`next start` of the app `--next-ref` names, "
            "seeded with our `GET /api/problems` body). Search is "
            f"`q={state['query']}`: {rows[0]} rows from us, {rows[1]} from Next "
            f"(bodies {'identical' if state['same_search'] else '**different**'} but our final "
            f"newline); the lists are {'identical' if state['same_list'] else '**different**'} "
            "but our final newline.",
            "",
            "| Route | Ours req/s | Next.js req/s | Ours / Next (median of rounds) | Our p50 "
            "| Next p50 | Rounds (ours:Next) | Target |",
            "|---|---:|---:|---:|---:|---:|---|---|",
        ]
        for name, label in (
            ("search", f"search `q={state['query']}`, dynamic"),
            ("whoami", "whoami, dynamic"),
            ("list", "list, our hit vs Next's static route"),
        ):
            ours, theirs = runs[name]["ours"], runs[name]["next"]
            mo, mt = median_rps(ours), median_rps(theirs)
            value = ratio(ours, theirs)
            target = (
                f"{TARGETS['next']}x: {verdict(value >= TARGETS['next'])}"
                if name != "list"
                else "-"
            )
            per_round = pairs(ours, theirs)
            lines.append(
                f"| {label} | {mo.requests_per_s:,.0f} | {mt.requests_per_s:,.0f} | {value:.2f}x "
                f"| {mo.p50_ms:.2f} ms | {mt.p50_ms:.2f} ms | {per_round}"
                f"{errors_text(ours + theirs)} | {target} |"
            )
    lines += ["", "## Targets", "", "| Target | " + " | ".join(
        LABELS[o.backend] for o in outcomes) + " |", "|---|" + "---|" * len(outcomes)]  # fmt: skip
    lines += target_rows(outcomes)
    return "\n".join(lines) + "\n"


def target_rows(outcomes: list[BackendResult]) -> list[str]:
    def by_size(outcome: BackendResult) -> dict[int, SizeResult]:
        return {s.size: s for s in outcome.sizes}

    rows: dict[str, list[str]] = {}
    for outcome in outcomes:
        sized = by_size(outcome)
        small, large = min(sized), max(sized)
        growth = p50(sized[large].search_one) / p50(sized[small].search_one)
        rows.setdefault(
            f"search p50, one match, {large:,} / {small:,} <= {TARGETS['search_growth']}x", []
        ).append(f"{growth:.2f}x: {verdict(growth <= TARGETS['search_growth'])}")
        cold_small = p50(sized[small].cold)
        rows.setdefault(f"cold list at {small:,} <= {TARGETS['cold_small_ms']:.0f} ms", []).append(
            f"{fmt_ms(cold_small)}: {verdict(cold_small <= TARGETS['cold_small_ms'])}"
        )
        cold_large = p50(sized[large].cold)
        rows.setdefault(
            f"cold list at {large:,} <= {TARGETS['cold_large_ms'] / 1000:.1f} s", []
        ).append(f"{fmt_ms(cold_large)}: {verdict(cold_large <= TARGETS['cold_large_ms'])}")
        for size in sorted({small, large}):
            if not sized[size].hit:
                rows.setdefault(
                    f"list hit / raw WSGI at {size:,} >= {TARGETS['hit_raw']}", []
                ).append("**missed**: never a hit")
                continue
            value = ratio(sized[size].hit, sized[size].raw)
            rows.setdefault(f"list hit / raw WSGI at {size:,} >= {TARGETS['hit_raw']}", []).append(
                f"{value:.2f}: {verdict(value >= TARGETS['hit_raw'])}"
            )
        cpu = p50(outcome.post_cpu_ms)
        label = f"worker CPU per POST, kept-alive connection <= {TARGETS['post_cpu_ms']:.0f} ms"
        rows.setdefault(label, []).append(f"{cpu:.2f} ms: {verdict(cpu <= TARGETS['post_cpu_ms'])}")
        new = p50(outcome.post_new_cpu_ms)
        label = f"worker CPU per POST, new connection each <= {TARGETS['post_cpu_ms']:.0f} ms"
        rows.setdefault(label, []).append(f"{new:.2f} ms: {verdict(new <= TARGETS['post_cpu_ms'])}")
        worst = max(outcome.bursts)
        rows.setdefault("renders per burst of 64 after a write: 1", []).append(
            f"at most {worst}: {verdict(worst <= TARGETS['renders'])}"
        )
    return [f"| {label} | {' | '.join(cells)} |" for label, cells in rows.items()]


def pairs(ours: list[WrkResult], theirs: list[WrkResult]) -> str:
    """Each round's req/s, ``ours:theirs``."""
    return " / ".join(
        f"{a.requests_per_s:,.0f}:{b.requests_per_s:,.0f}"
        for a, b in zip(ours, theirs, strict=True)
    )


def size_text(size: int) -> str:
    return f"{size / 1024:,.0f} KiB" if size < 10 * 1024 * 1024 else f"{size / 2**20:,.1f} MiB"


def errors_text(results: list[WrkResult]) -> str:
    errors = sorted({r.errors for r in results if r.errors})
    return f" ({'; '.join(errors)})" if errors else ""


# -- the run ---------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument(
        "--sizes", default="1000,10000,100000", help="catalogue sizes, ascending (comma-separated)"
    )
    parser.add_argument(
        "--backends", default="sqlite,postgres", help="sqlite, postgres or both (comma-separated)"
    )
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds of wrk runs")
    parser.add_argument("--duration", type=int, default=5, help="seconds of each wrk run")
    parser.add_argument("--warmup", type=int, default=1, help="seconds of wrk before each run")
    parser.add_argument("--connections", type=int, default=32, help="wrk connections (-t1)")
    parser.add_argument(
        "--search-requests", type=int, default=40, help="one-match searches per size and round"
    )
    parser.add_argument(
        "--cold-rounds", type=int, default=5, help="rounds of searches and cold lists"
    )
    parser.add_argument(
        "--cold-warmups",
        type=int,
        default=6,
        help="cold lists per size before the measured ones (each worker's first opens connections)",
    )
    parser.add_argument("--posts", type=int, default=100, help="POSTs per round")
    parser.add_argument("--bursts", type=int, default=8, help="bursts of GETs after a PATCH")
    parser.add_argument("--burst-size", type=int, default=64, help="concurrent GETs per burst")
    parser.add_argument("--no-next", dest="next", action="store_false", help="skip Next.js")
    parser.add_argument(
        "--next-ref",
        type=Path,
        default=os.environ.get("PRACTICE_NEXT_REF") or None,
        help="folder of the Next.js 14 app to measure against (default: $PRACTICE_NEXT_REF; "
        "none: Next.js is not measured, and the report says so)",
    )
    args = parser.parse_args(argv)
    settings = Settings(
        **{
            **vars(args),
            "sizes": sorted(int(s) for s in args.sizes.split(",")),
            "backends": [b.strip() for b in args.backends.split(",") if b.strip()],
        }
    )
    if shutil.which("wrk") is None:
        print("wrk is not installed (Debian: apt-get install -y wrk; macOS: brew install wrk)")
        return 2
    notes = {"load_before": load_text()}
    catalogue = Catalogue()
    query, matches = next_query(catalogue, settings.sizes[0])
    state: dict[str, Any] = {"query": query, "matches": matches}
    outcomes: list[BackendResult] = []
    loads: list[str] = []
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="practice-growth-") as tmp:
        folder = Path(tmp)
        for backend in settings.backends:
            with contextlib.ExitStack() as stack:
                if backend == "sqlite":
                    instances = sqlite_instances(folder, settings.sizes, catalogue)
                    postmaster = 0
                elif backend == "postgres":
                    base_url, postmaster = stack.enter_context(postgres())
                    redis_url = stack.enter_context(redis_server(folder))
                    instances = postgres_instances(
                        base_url, redis_url, folder, settings.sizes, catalogue
                    )
                else:
                    raise SystemExit(f"unknown backend {backend!r}")
                loads.append(
                    f"{backend} "
                    + ", ".join(
                        f"{i.size - (j and instances[j - 1].size):,} in {i.load_s:.1f} s"
                        for j, i in enumerate(instances)
                    )
                )
                compare = state if (backend == "sqlite" and settings.next) else None
                outcomes.append(measure_backend(instances, settings, folder, postmaster, compare))
            minutes = (time.monotonic() - started) / 60
            notes["loads"] = "; ".join(loads) + f"; the whole run took {minutes:.1f} min"
            RESULTS.parent.mkdir(parents=True, exist_ok=True)
            RESULTS.write_text(report(settings, outcomes, state, notes), encoding="utf-8")
    notes["loads"] = (
        "; ".join(loads) + f"; the whole run took {(time.monotonic() - started) / 60:.1f} min"
    )
    text = report(settings, outcomes, state, notes)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(text, encoding="utf-8")
    print()
    print(text)
    print(f"Written to {RESULTS.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
