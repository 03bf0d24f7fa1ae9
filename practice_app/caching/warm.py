"""Build-time static: store what ``next build`` would have rendered, before traffic comes.

Next.js renders a static route when the app is built, so its first request
is already a hit. :func:`warm` does the same for this cache, at deploy time:
a GET of every route that takes no parameter and may be stored (any
declaration but ``force-dynamic``), through the whole app, as a plain
client on this host. A view that turns out to read the request is dynamic,
and is reported as such.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import Flask
from werkzeug.test import EnvironBuilder

from .adapter import current_flask_app
from .policy import policy_for
from .wsgi import subrequest


@dataclass(frozen=True)
class Warmed:
    """What warming one path did: ``stored``, ``already stored``, or why it was not."""

    path: str
    outcome: str


def warm(app: Flask | None = None, base_url: str = "http://localhost/") -> list[Warmed]:
    """GET every storable route without parameters once, so its entry is stored; say what each did.

    ``app``: the current app when not given.
    """
    app = app or current_flask_app()
    adapter = app.url_map.bind("localhost")
    environ = EnvironBuilder(path="/", base_url=base_url).get_environ()
    done: list[Warmed] = []
    for rule in sorted(app.url_map.iter_rules(), key=lambda rule: rule.rule):
        if "GET" not in (rule.methods or ()) or rule.arguments:
            continue
        policy = policy_for(app, rule.endpoint, "GET")
        if policy is None or policy.mode == "force-dynamic":
            continue
        path = adapter.build(rule.endpoint, method="GET")
        with app.app_context():  # the inner request's own session and ``g``
            response = subrequest(app, environ, path)
        done.append(Warmed(path, _outcome(response.status, response.headers)))
    return done


def _outcome(status: int, headers: dict[str, str]) -> str:
    state = headers.get("X-Cache")
    if state == "MISS":
        return "stored"
    if state in ("HIT", "STALE"):
        return "already stored"
    if status != 200:
        return f"not stored: HTTP {status}"
    return "not stored: dynamic (it read the request, or the cache is unavailable)"
