"""The measurements, each on a served catalogue: searches, the cold list, wrk, POSTs, bursts.

Each takes a gunicorn serving one catalogue and adds what it measured to a
``results`` record; ``rounds.py`` calls them in order, interleaved across the
catalogues so that a change in the machine's load touches every size alike.
"""

from __future__ import annotations

import concurrent.futures
import os
import random
import re
import statistics
import threading
import time
from http.client import HTTPConnection

from bench.capture import capture_hit
from bench.catalogue_growth.catalogue import token
from bench.catalogue_growth.results import BackendResult, SizeResult
from bench.catalogue_growth.servers import postgres_cpu_seconds
from bench.catalogue_growth.settings import LIST, NO_MATCH, Settings
from bench.common import Server, call, timed, worker_cpu_seconds
from bench.problems import DIFFICULTIES
from bench.wrk import WrkResult, run_wrk


def wrk(port: int, path: str, settings: Settings, server: Server | None = None) -> WrkResult:
    """A warm-up, then the measured run, of ``wrk -t1 -c<connections>`` against ``path``.

    With ``server`` (one of ours, not Next.js), also its workers' CPU per request.
    """
    return run_wrk(
        port,
        path,
        threads=1,
        connections=settings.connections,
        timeout=30,
        warmup=settings.warmup,
        duration=settings.duration,
        server=server,
    )


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
