"""What ``bench/run.py`` is told (its options) and what it measures (the paths, the target)."""

from __future__ import annotations

from dataclasses import dataclass

LIST = "/api/problems"
DETAIL = "/api/problems/1"
SEARCH = "/api/search?q=tree"
TARGET_RATIO = 0.75  # a hit's req/s over the raw WSGI app's, at least


@dataclass
class Settings:
    workers: int
    threads: int
    connections: int
    duration: int
    warmup: int
    rounds: int
    problems: int
    miss_requests: int
    py_spy: bool
