"""/compare's live panel: API routes called through the whole app, cache included."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from flask import Flask, request, url_for

from ... import caching


@dataclass(frozen=True)
class LiveRoute:
    """A route of the JSON API that the comparison page calls."""

    endpoint: str
    title: str
    summary: str
    query: Mapping[str, str] | None = None
    # What declares how it is cached, when it is not the view's own cache_view.
    declaration: str | None = None

    @property
    def counts_problems(self) -> bool:
        """Whether its answer is a list of problems (else a clock's ``{"now": ...}``)."""
        return self.endpoint in ("api.problem_list", "api.problem_search")


LIVE_ROUTES = (
    LiveRoute(
        "api.clock_static",
        "Static",
        "Rendered once, then served from the shared cache until it is cleared.",
    ),
    LiveRoute(
        "api.clock_dynamic",
        "Dynamic",
        "Rendered on every request and never stored.",
    ),
    LiveRoute(
        "api.clock_revalidate",
        "Revalidate",
        "Stored for 300 s, then served stale once while one worker renders it again.",
    ),
    LiveRoute(
        "api.problem_list",
        "Problem list",
        "Static because it reads nothing from the request; every change to a problem drops it.",
    ),
    LiveRoute(
        "api.problem_search",
        "Search (data cache)",
        "Dynamic, since it reads the query string; the search's results are kept by the "
        "data cache until a problem changes.",
        query={"q": "tree"},
        declaration=(
            'cache_data(tags=("problems",), key=SearchQuery.key, depends=SearchQuery.data_tags)'
        ),
    ),
)


def call_live(app: Flask, route: LiveRoute) -> dict[str, Any]:
    """GET one API route through the whole app (cache middleware included), as a client would."""
    path = url_for(route.endpoint)
    query = "&".join(f"{name}={value}" for name, value in (route.query or {}).items())
    policy = caching.policy_for(app, route.endpoint, "GET")
    started = time.perf_counter()
    # A fresh app context: the inner request gets its own database session and `g`.
    with app.app_context():
        response = caching.subrequest(app, request.environ, path, query)
    elapsed_ms = (time.perf_counter() - started) * 1000
    try:
        body = json.loads(response.body)
    except ValueError:
        body = None
    if isinstance(body, list):
        value = f"{len(body)} problem{'' if len(body) == 1 else 's'}"
    elif isinstance(body, dict) and "now" in body:
        value = str(body["now"])
    else:
        value = f"HTTP {response.status}"
    return {
        "route": route,
        "declaration": route.declaration or (policy.declaration() if policy else ""),
        "url": f"{path}?{query}" if query else path,
        "status": response.status,
        "value": value,
        "x_cache": response.headers.get("X-Cache"),
        "x_data_cache": response.headers.get(caching.DATA_HEADER),
        "cache_control": response.headers.get("Cache-Control"),
        "age": response.headers.get("Age"),
        "ms": f"{elapsed_ms:.1f}",
    }
