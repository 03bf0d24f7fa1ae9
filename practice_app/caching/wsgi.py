"""Plain WSGI helpers of the hit path: an inner GET, a body read and closed as a server does.

``subrequest`` GETs a path through the whole app, cache included, as a plain
client on this host would (``/compare``'s live panel uses it); the
middleware's regeneration of a stale entry runs the same way.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from flask import Flask

_COPIED = (
    "SERVER_NAME",
    "SERVER_PORT",
    "SERVER_PROTOCOL",
    "SCRIPT_NAME",
    "HTTP_HOST",
    "wsgi.url_scheme",
    "wsgi.version",
    "wsgi.errors",
    "wsgi.multithread",
    "wsgi.multiprocess",
    "wsgi.run_once",
)


def inner_environ(outer: dict[str, Any], path: str, query_string: str = "") -> dict[str, Any]:
    """A plain GET of ``path`` (and ``query_string``) on the same host: no headers or cookies."""
    inner = {name: outer[name] for name in _COPIED if name in outer}
    inner.update(
        {
            "REQUEST_METHOD": "GET",
            "PATH_INFO": path,
            "QUERY_STRING": query_string,
            "REMOTE_ADDR": "127.0.0.1",
            "wsgi.input": io.BytesIO(),
        }
    )
    return inner


def closing(result: Iterable[bytes]) -> Iterator[bytes]:
    """Iterate a WSGI body and close it, as a server does (which runs its close hooks)."""
    try:
        yield from result
    finally:
        close = getattr(result, "close", None)
        if close is not None:
            close()


class OnClose:
    """A WSGI body that runs ``callback`` once the server has sent it and closes it."""

    def __init__(self, body: Iterable[bytes], callback: Callable[[], None]) -> None:
        self.body = body
        self.callback = callback

    def __iter__(self) -> Iterator[bytes]:
        return iter(self.body)

    def close(self) -> None:
        try:
            close = getattr(self.body, "close", None)
            if close is not None:
                close()
        finally:
            self.callback()


@dataclass
class SubResponse:
    """What a GET made inside the app answered."""

    status: int
    headers: dict[str, str]
    body: bytes


def subrequest(
    app: Flask, environ: dict[str, Any], path: str, query_string: str = ""
) -> SubResponse:
    """GET ``path`` through the whole app, cache included, as a plain client on this host would.

    The body is read and closed as a WSGI server does, so what runs on close
    (a stale entry's regeneration, and its lock's release) runs.
    """
    captured: dict[str, Any] = {}

    def start_response(status: str, headers: list[tuple[str, str]], *_exc: Any) -> Any:
        captured["status"] = int(status.split(" ", 1)[0])
        captured["headers"] = dict(headers)
        return None

    inner = inner_environ(environ, path, query_string)
    inner["HTTP_ACCEPT"] = "application/json"
    wsgi_app: Callable[..., Iterable[bytes]] = app.wsgi_app
    body = b"".join(closing(wsgi_app(inner, start_response)))
    return SubResponse(captured["status"], captured["headers"], body)
