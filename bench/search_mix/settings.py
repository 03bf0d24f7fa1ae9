"""What ``bench/search.py`` is told (its options), the routes it measures, and its targets."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

SEARCH = "/api/search"  # ours, and Next's plain search (a scan of its array, every request)
CACHED = "/api/search-cached"  # Next's, its read in unstable_cache under the tag 'problems'
WRITE = "/api/problems"  # POST: a new problem, on each side
PAGE = 50  # our search's page when no limit is sent; Next answers every match
# The sides measured, in the order of each round: (name, route).
SIDES = (("ours", SEARCH), ("next", SEARCH), ("next-cached", CACHED))
LABELS = {
    "ours": "ours, `/api/search` (data cache)",
    "next": "Next.js, `/api/search` (plain)",
    "next-cached": "Next.js, `/api/search-cached` (`unstable_cache`)",
}
# Ours / the better of Next's two (req/s), by catalogue size.
TARGETS = {1_000: 1.5, 100_000: 10.0}


@dataclass
class Settings:
    sizes: list[int]
    backends: list[str]
    rounds: int
    duration: int
    warmup: int
    connections: int
    threads: int
    queries: int
    requests: int
    zipf_s: float
    seed: int
    write_every: int  # seconds between writes during a run; 0: none
    next_ref: Path | None
