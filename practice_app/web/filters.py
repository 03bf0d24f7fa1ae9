"""The pages' template filters: a statement's Markdown as an outlined page, and timestamps."""

from __future__ import annotations

import itertools
import re
from datetime import datetime

from markupsafe import Markup

from ..markdown import render_markdown
from .blueprint import bp

_HEADING_TAG = re.compile(r"<(/?)h([2-6])>")


@bp.app_template_filter("markdown")
def render_statement(text: str) -> Markup:
    """A statement's HTML: outlined under the page's ``<h1>``, its code reachable by keyboard.

    Headings are renumbered so that none skips a level (``### Example``
    becomes ``<h2>``, the next level down ``<h3>``), and each ``<pre>``, and
    each table in a box of its own, is a named, focusable region: a long line
    or a wide table scrolls inside it, with the keyboard too, never the page.
    ``render_markdown``'s output is sanitised: its tags carry no attributes.
    """
    html = str(render_markdown(text))
    levels = sorted({int(level) for _, level in _HEADING_TAG.findall(html)})
    rank = {level: index + 2 for index, level in enumerate(levels)}
    opened: list[int] = []  # the level each open heading was given, to close it alike
    previous = 1

    def outline(match: re.Match[str]) -> str:
        nonlocal previous
        if match.group(1):
            return f"</h{opened.pop()}>"
        previous = min(rank[int(match.group(2))], previous + 1)
        opened.append(previous)
        return f"<h{previous}>"

    html = _HEADING_TAG.sub(outline, html)
    blocks = itertools.count(1)
    html = re.sub(
        "<pre>",
        lambda _: f'<pre tabindex="0" role="region" aria-label="Code block {next(blocks)}">',
        html,
    )
    tables = itertools.count(1)
    html = re.sub(
        "<table>",
        lambda _: (
            '<div class="table-scroll" tabindex="0" role="region" '
            f'aria-label="Table {next(tables)}"><table>'
        ),
        html,
    ).replace("</table>", "</table></div>")
    return Markup(html)  # noqa: S704 - sanitised by render_markdown; only our attributes added


@bp.app_template_filter("datetime")
def format_datetime(value: datetime | None) -> str:
    """Show a UTC timestamp to people: ``24 Nov 2026, 09:00 UTC``."""
    return f"{value.day} {value:%b %Y, %H:%M} UTC" if value is not None else "—"


@bp.app_template_filter("isodatetime")
def format_isodatetime(value: datetime | None) -> str:
    """The machine-readable form of a timestamp, for ``<time datetime>``."""
    return value.strftime("%Y-%m-%dT%H:%M:%SZ") if value is not None else ""
