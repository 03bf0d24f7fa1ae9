"""This app's own code as /compare shows it: read from its source files when the page renders."""

from __future__ import annotations

import inspect
import textwrap
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import current_app

from ... import caching, documents, security, services
from ...services import problems as problem_services
from ..helpers import attach_errors
from ..problems import _save_problem_form, problem_new


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


def compare_excerpts() -> dict[str, Excerpt]:
    """The code /compare puts beside Next.js's: whole functions and classes, as they run."""
    views: Mapping[str, Any] = current_app.view_functions  # MethodViews: as_view keeps the class
    return {
        "method_view": source_excerpt(views["api.problem_list"].view_class),
        "form_view": source_excerpt(problem_new),
        "service": source_excerpt(services.create_problem),
        "save": source_excerpt(problem_services._save_problem),
        "pending": static_excerpt("app.js", "function busy("),
        "save_form": source_excerpt(_save_problem_form),
        "attach_errors": source_excerpt(attach_errors),
        "dynamic": source_excerpt(views["api.clock_dynamic"].view_class),
        "revalidate": source_excerpt(views["api.clock_revalidate"].view_class),
        "invalidate": source_excerpt(services.invalidate_problem),
        "data_cache": source_excerpt(documents.search_documents),
        "data_key": source_excerpt(documents.SearchQuery.key),
        "origin": source_excerpt(security.refuse_other_origins),
        "warm": source_excerpt(caching.warm),
    }


def extension_lines() -> int:
    """How many lines of Python the caching extension (``practice_app/caching/``) is."""
    folder = Path(inspect.getsourcefile(caching) or "").parent
    return sum(len(path.read_text(encoding="utf-8").splitlines()) for path in folder.glob("*.py"))
