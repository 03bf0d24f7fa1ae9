"""One backend's run: its catalogues served side by side and measured in interleaved rounds.

First searches and cold lists, round after round across the sizes; then each
list's hit against the raw WSGI app replaying it (wrk, interleaved too), and
the workers' memory; then, on the smallest catalogue alone, Next.js (if asked),
bursts after a write, and CPU per POST, with the raw apps stopped by then.
"""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path
from typing import Any

from bench.capture import capture_hit, check_replay, write_capture
from bench.catalogue_growth.measures import bursts, cold_list, post_cpu, search_rounds, wrk
from bench.catalogue_growth.nextjs import compare_next
from bench.catalogue_growth.results import BackendResult, SizeResult
from bench.catalogue_growth.servers import Instance, base_env, gunicorn
from bench.catalogue_growth.settings import LIST, Settings
from bench.common import Server, worker_rss_mib


def measure_backend(
    instances: list[Instance],
    settings: Settings,
    folder: Path,
    postmaster: int,
    next_compare: dict[str, Any] | None,
) -> BackendResult:
    """Serve one backend's catalogues at once and measure them, in the order above."""
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
            check_replay(raws[size].port, LIST, capture)
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
