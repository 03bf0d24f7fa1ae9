"""The floor for a cache hit: a WSGI app that only replays captured responses.

``bench/run.py`` captures the app's cached responses (status line, headers,
body) over HTTP into a JSON file and serves this module with the same gunicorn
settings: ``BENCH_RAW_CAPTURE=capture.json gunicorn ... bench.raw_wsgi:app``.
Whatever a hit costs beyond this app is the cost of the cache's hit path.
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Callable, Iterable
from typing import Any

Captured = tuple[str, list[tuple[str, str]], bytes]


def load(path: str) -> dict[str, Captured]:
    """Read ``{path: {"status", "headers", "body" (base64)}}`` as written by run.py."""
    with open(path, encoding="utf-8") as handle:
        raw = json.load(handle)
    responses: dict[str, Captured] = {}
    for url, item in raw.items():
        headers = [(str(name), str(value)) for name, value in item["headers"]]
        responses[url] = (item["status"], headers, base64.b64decode(item["body"]))
    return responses


RESPONSES = load(os.environ["BENCH_RAW_CAPTURE"])
NOT_FOUND: Captured = ("404 Not Found", [("Content-Length", "0")], b"")


def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    status, headers, body = RESPONSES.get(environ.get("PATH_INFO", ""), NOT_FOUND)
    start_response(status, list(headers))
    return [body]
