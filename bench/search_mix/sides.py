"""One catalogue, both sides: ours served and checked, Next.js built on its list, rounds of wrk.

Ours is gunicorn as ``bench/growth.py`` serves it (``catalogue_growth``'s
instances and flags). Before anything is written, every query of the mix is
asked once: our ``X-Total-Count`` must be the rows ``queries.py`` counted,
so no answer is cut to a page. Next.js (``--next-ref``) is
``catalogue_growth.nextjs``'s copy, built on our ``GET /api/problems`` body,
and its answers to every query are compared with ours, byte for byte but our
final newline (its cached route's, on a sample). Our list is stored after it
is sent (compressed: seconds of a worker's CPU at 100,000 problems), so the
store is waited for before anything is measured. Next's data cache
(``unstable_cache``'s entries, files in the build's ``cache/fetch-cache``,
which every ``next start`` of the build would find) is emptied first: each
side starts without entries. Then rounds: in each, ours, Next's plain
search, Next's cached search, one after the other.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from bench.catalogue_growth.measures import renders
from bench.catalogue_growth.nextjs import next_server, prepare_next
from bench.catalogue_growth.servers import Instance, gunicorn
from bench.catalogue_growth.settings import LIST
from bench.common import Server, call
from bench.search_mix.queries import Mix
from bench.search_mix.runs import Run, run_side
from bench.search_mix.settings import CACHED, SEARCH, SIDES, Settings

CACHED_SAMPLE = 50  # queries whose answer from Next's cached route is compared with ours


@dataclass
class SizeOutcome:
    backend: str
    size: int
    load_s: float
    runs: dict[str, list[Run]] = field(default_factory=dict)  # by side, one a round
    our_bytes: int = 0  # the body of every query, summed once (before any write)
    next_bytes: int = 0
    compared: int = 0  # queries whose answers from Next's plain search were compared
    identical: int = 0
    cached_compared: int = 0
    cached_identical: int = 0
    differences: list[str] = field(default_factory=list)  # the first few that differed
    next_error: str = ""  # why Next.js was not measured
    next_version: str = ""


def check_ours(server: Server, mix: Mix, size: int, outcome: SizeOutcome) -> dict[str, bytes]:
    """Every query once: 200, and X-Total-Count the rows counted for it. Returns the bodies."""
    bodies: dict[str, bytes] = {}
    for query in mix.queries:
        status, headers, body = call(server.port, "GET", query.path)
        total = headers.get("X-Total-Count")
        if status != 200 or total != str(query.rows[size]):
            raise RuntimeError(
                f"{query.path} at {size:,}: {status}, X-Total-Count {total}, "
                f"{query.rows[size]} counted"
            )
        bodies[query.path] = body
    outcome.our_bytes = sum(len(body) for body in bodies.values())
    return bodies


def our_list(server: Server) -> bytes:
    """Our ``GET /api/problems`` body, for Next.js's data, once its entry is stored.

    A MISS is compressed and stored after it is sent, in the worker's thread:
    at 100,000 problems (92.7 MiB) that would be under the first rounds.
    """
    before = renders(server.port, LIST)
    started = time.monotonic()
    status, headers, body = call(server.port, "GET", LIST, timeout=600)
    if status != 200:
        raise RuntimeError(f"GET {LIST}: {status}")
    if headers.get("X-Cache") == "MISS":
        while renders(server.port, LIST) <= before and time.monotonic() - started < 600:
            time.sleep(0.2)
    print(
        f"our list: {len(body):,} bytes, stored in {time.monotonic() - started:.1f} s", flush=True
    )
    return body


def compare_next(theirs: Server, mix: Mix, ours: dict[str, bytes], outcome: SizeOutcome) -> None:
    """Next's answer to every query against ours; its cached route's on a sample."""
    step = max(1, len(mix.queries) // CACHED_SAMPLE)
    for number, query in enumerate(mix.queries):
        routes = [SEARCH, CACHED] if number % step == 0 else [SEARCH]
        for route in routes:
            path = route + query.path.removeprefix(SEARCH)
            status, _headers, body = call(theirs.port, "GET", path)
            same = status == 200 and body == ours[query.path].rstrip(b"\n")
            if route == SEARCH:
                outcome.next_bytes += len(body)
                outcome.compared += 1
                outcome.identical += same
            else:
                outcome.cached_compared += 1
                outcome.cached_identical += same
            if not same and len(outcome.differences) < 3:
                outcome.differences.append(f"{path}: {status}, {len(body)} bytes")


def measure_size(instance: Instance, mix: Mix, settings: Settings, folder: Path) -> SizeOutcome:
    """Serve one catalogue (and Next.js on it), check the answers, run the rounds."""
    size, backend = instance.size, instance.backend
    outcome = SizeOutcome(backend, size, instance.load_s)
    with contextlib.ExitStack() as stack:
        ours = stack.enter_context(
            gunicorn(f"search-{backend}-{size}", "wsgi:app", instance.env, folder)
        )
        print(f"{backend} at {size:,}: every query once, totals checked ...", flush=True)
        bodies = check_ours(ours, mix, size, outcome)
        theirs: Server | None = None
        if settings.next_ref is None:
            outcome.next_error = "no Next.js app given (--next-ref PATH, or PRACTICE_NEXT_REF)"
        else:
            prepared = prepare_next(our_list(ours), settings.next_ref)
            if isinstance(prepared, str):
                outcome.next_error = prepared
            else:
                directory, env = prepared
                entries = directory / env["NEXT_DIST_DIR"] / "cache" / "fetch-cache"
                shutil.rmtree(entries, ignore_errors=True)  # a run before this one's
                theirs = stack.enter_context(next_server(directory, env, folder))
                package = directory / "node_modules" / "next" / "package.json"
                outcome.next_version = json.loads(package.read_text())["version"]
                print(f"Next.js at {size:,}: every query compared with ours ...", flush=True)
                compare_next(theirs, mix, bodies, outcome)
        if outcome.next_error:
            print(f"Next.js: not measured: {outcome.next_error}", file=sys.stderr, flush=True)
        for number in range(1, settings.rounds + 1):
            for side, route in SIDES:
                if side != "ours" and theirs is None:
                    continue
                print(f"{backend} at {size:,}: round {number}: {side} ...", flush=True)
                if side == "ours":
                    run = run_side(side, ours.port, route, mix.file, settings, instance.token, ours)
                else:
                    assert theirs is not None
                    run = run_side(side, theirs.port, route, mix.file, settings, None)
                outcome.runs.setdefault(side, []).append(run)
    return outcome
