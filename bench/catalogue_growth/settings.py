"""What ``bench/growth.py`` is told (its options), the routes it measures, and its targets."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

LIST = "/api/problems"
WHOAMI = "/api/whoami"
NO_MATCH = "zqxj"  # no name holds it: the index answers "none" without a scan
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
