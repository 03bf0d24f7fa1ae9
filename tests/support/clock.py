"""A clock the cache reads (``CACHE_CLOCK``), which a test moves instead of sleeping."""

from __future__ import annotations


class Clock:
    """An injected clock: tests move time instead of sleeping."""

    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now
