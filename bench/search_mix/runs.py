"""One timed run of one side: wrk walks the sequence with ``mix.lua``, which also writes.

Each run is ``bench/wrk.py``'s: a warm-up of ``warmup`` seconds, then the
measured ``duration``, both walking the sequence from its first line, both
with a ``POST /api/problems`` every ``write_every`` seconds made by the
script on one of wrk's own connections (ours with the admin's bearer token
from the CLI; Next's reference takes the JSON alone). The script's counts
(``X-Data-Cache``, statuses, writes answered 201, body bytes) are the
measured run's.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from bench.common import Server
from bench.search_mix.settings import Settings
from bench.wrk import WrkResult, run_wrk

SCRIPT = Path(__file__).with_name("mix.lua")
COUNTS = re.compile(
    r"^MIX hits=(\d+) misses=(\d+) unmarked=(\d+) not_ok=(\d+) created=(\d+) body_bytes=(\d+)$",
    re.MULTILINE,
)


@dataclass
class Run:
    """What one side did in one round's measured run."""

    side: str
    wrk: WrkResult
    hits: int
    misses: int
    unmarked: int  # searches answered without X-Data-Cache (all of Next's)
    not_ok: int  # answers neither 200 nor 201
    created: int  # writes answered 201
    body_bytes: int  # of the searches' answers
    seconds: int  # measured

    @property
    def answers(self) -> int:
        """Searches answered (the writes' answers apart)."""
        return self.hits + self.misses + self.unmarked

    @property
    def mean_body(self) -> float:
        return self.body_bytes / max(self.answers, 1)


def run_side(
    side: str,
    port: int,
    route: str,
    paths: Path,
    settings: Settings,
    api_token: str | None,
    server: Server | None = None,
) -> Run:
    """wrk over the sequence of ``paths`` (its route replaced by ``route``), writing as it goes.

    ``api_token``: ours, for the writes; None for Next.js. ``server``: ours,
    for its workers' CPU per request.
    """
    result = run_wrk(
        port,
        route,
        threads=settings.threads,
        connections=settings.connections,
        timeout=30,
        warmup=settings.warmup,
        duration=settings.duration,
        server=server,
        script=SCRIPT,
        script_args=[
            str(paths),
            str(settings.threads),
            route,
            api_token or "-",
            str(settings.write_every),
        ],
    )
    counts = COUNTS.search(result.output)
    if counts is None:
        raise RuntimeError(f"no MIX line in wrk's output:\n{result.output}")
    hits, misses, unmarked, not_ok, created, body_bytes = (int(v) for v in counts.groups())
    return Run(side, result, hits, misses, unmarked, not_ok, created, body_bytes, settings.duration)
