"""/compare: route handlers against server actions, code beside code, with a live panel."""

from __future__ import annotations

import inspect
import json
import textwrap
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import Flask, current_app, render_template, request, url_for

from .. import caching, services
from .blueprint import bp
from .problems import problem_new


@dataclass(frozen=True)
class LiveRoute:
    """A route of the JSON API that the comparison page calls."""

    endpoint: str
    title: str
    summary: str


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
)


def _call_live(app: Flask, route: LiveRoute) -> dict[str, Any]:
    """GET one API route through the whole app (cache middleware included), as a client would."""
    path = url_for(route.endpoint)
    policy = caching.policy_for(app, route.endpoint, "GET")
    started = time.perf_counter()
    # A fresh app context: the inner request gets its own database session and `g`.
    with app.app_context():
        response = caching.subrequest(app, request.environ, path)
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
        "declaration": policy.declaration() if policy else "",
        "url": path,
        "status": response.status,
        "value": value,
        "x_cache": response.headers.get("X-Cache"),
        "cache_control": response.headers.get("Cache-Control"),
        "age": response.headers.get("Age"),
        "ms": f"{elapsed_ms:.1f}",
    }


@dataclass(frozen=True)
class Excerpt:
    """Lines of this app's own code, read when the page is rendered: they cannot go stale."""

    name: str
    path: str
    code: str


def _excerpt_lines(name: str, path: Path, lines: list[str], keep: tuple[str, ...]) -> Excerpt:
    """Dedent ``lines``; with ``keep``, only the lines holding one of those strings, and ``...``."""
    text = textwrap.dedent("".join(lines)).splitlines()
    if keep:
        shown: list[str] = []
        last = -1
        for number, line in enumerate(text):
            if any(part in line for part in keep):
                if shown and number > last + 1:  # lines left out: say so, at this line's indent
                    shown.append(line[: len(line) - len(line.lstrip())] + "...")
                shown.append(line)
                last = number
        text = shown
    root = Path(current_app.root_path).parent
    return Excerpt(name, str(path.resolve().relative_to(root)), "\n".join(text))


def source_excerpt(obj: Any, *, keep: tuple[str, ...] = ()) -> Excerpt:
    """The source of a function or class of this app (decorators included), or some of its lines."""
    target = inspect.unwrap(obj)
    lines, _ = inspect.getsourcelines(target)
    path = Path(inspect.getsourcefile(target) or "")
    return _excerpt_lines(target.__qualname__, path, lines, keep)


def static_excerpt(filename: str, start: str, *, keep: tuple[str, ...] = ()) -> Excerpt:
    """The block of a static file from the line holding ``start`` to its closing brace."""
    path = Path(current_app.static_folder or "") / filename
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    first = next(number for number, line in enumerate(lines) if start in line)
    indent = lines[first][: len(lines[first]) - len(lines[first].lstrip())]
    last = next(
        number for number in range(first + 1, len(lines)) if lines[number].startswith(indent + "}")
    )
    name = lines[first].strip().removeprefix("function ").split("(")[0] + "()"
    return _excerpt_lines(name, path, lines[first : last + 1], keep)


def _compare_excerpts() -> dict[str, Excerpt]:
    """The code /compare puts beside Next.js's: the API's views, a form action and what it calls."""
    views: Mapping[str, Any] = current_app.view_functions  # MethodViews: as_view keeps the class
    problem_list = views["api.problem_list"].view_class
    return {
        "method_view": source_excerpt(
            problem_list,
            keep=(
                "@bp.route",
                "class ProblemList",
                "@cache_view",
                "@token_required",
                "def get",
                "def post",
                "return services.",
                "problem = services.create_problem",
                "return problem, 201",
            ),
        ),
        "form_view": source_excerpt(problem_new),
        "service": source_excerpt(services.create_problem),
        "pending": static_excerpt("app.js", "function busy("),
        "dynamic": source_excerpt(views["api.clock_dynamic"].view_class),
        "revalidate": source_excerpt(views["api.clock_revalidate"].view_class),
        "invalidate": source_excerpt(services.invalidate_problem),
    }


@bp.get("/compare")
def compare() -> str:
    """Route handlers against server actions, in this app, code beside code; with a live panel."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    live = [_call_live(app, route) for route in LIVE_ROUTES]
    return render_template("web/compare.html", live=live, code=_compare_excerpts())
