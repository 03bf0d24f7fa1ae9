"""A cache hit captured over HTTP, for ``bench/raw_wsgi.py`` to replay: the floor of a hit.

``bench/run.py`` and ``bench/growth.py`` warm a path until the app answers it
from the cache, keep that answer (status line, headers, body), serve it from
the raw WSGI app under the same gunicorn, and check that the raw app gives
back exactly the same bytes before either is measured.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

from bench.common import call

HOP_HEADERS = {"date", "server", "connection"}  # gunicorn writes these itself, for both servers
Captured = tuple[str, list[tuple[str, str]], bytes]  # status line, headers, body


def answer(port: int, path: str) -> tuple[Captured, str | None]:
    """GET ``path``: its status line, headers but the hop ones, body; and its X-Cache."""
    status, headers, body = call(port, "GET", path)
    kept = [(k, v) for k, v in headers.items() if k.lower() not in HOP_HEADERS]
    return (f"{status} OK", kept, body), headers.get("X-Cache")


def capture_hit(port: int, path: str) -> Captured:
    """Warm ``path`` until it is a hit; return the hit's status line, headers and body."""
    for _ in range(10):
        captured, state = answer(port, path)
        if state == "HIT":
            return captured
    raise RuntimeError(f"{path} never answered X-Cache: HIT; headers: {captured[1]}")


def write_capture(captured: dict[str, Captured], path: Path) -> None:
    """Write ``{path: {"status", "headers", "body" (base64)}}``, as raw_wsgi.load reads it."""
    path.write_text(
        json.dumps(
            {
                url: {"status": status, "headers": headers, "body": base64.b64encode(body).decode()}
                for url, (status, headers, body) in captured.items()
            }
        ),
        encoding="utf-8",
    )


def check_replay(port: int, path: str, captured: Captured) -> None:
    """Fail unless the raw app on ``port`` answers ``path`` exactly as ``captured``."""
    replayed, _state = answer(port, path)
    if replayed != captured:
        raise RuntimeError(f"the raw app does not replay {path} exactly")
