"""What ``bench/growth.py`` gathers: for each backend, each catalogue's figures and its writes'."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from bench.wrk import WrkResult


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
