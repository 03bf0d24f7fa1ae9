"""Problem statements: CommonMark (with tables) rendered to HTML that is safe to show.

Two layers, so that a mistake in one is caught by the other:

1. markdown-it-py with raw HTML turned off: ``<script>`` or ``<img onerror>``
   typed into a statement comes out as text, and markdown-it refuses
   ``javascript:``, ``vbscript:``, ``file:`` and most ``data:`` links.
2. nh3 (Rust's ammonia) then keeps only the tags and attributes Markdown
   produces, links to http, https and mailto (or relative ones), and
   ``text-align`` as the only style (table column alignment).

Headings are moved one level down, so a statement's ``# Title`` sits under the
page's own ``<h1>``.
"""

from __future__ import annotations

import nh3
from markdown_it import MarkdownIt
from markupsafe import Markup

_md = MarkdownIt("commonmark", {"html": False}).enable("table")

_ALLOWED_TAGS = {
    "p", "br", "hr", "em", "strong", "code", "pre", "blockquote",
    "ul", "ol", "li", "a", "img",
    "h2", "h3", "h4", "h5", "h6",
    "table", "thead", "tbody", "tr", "th", "td",
}  # fmt: skip

_cleaner = nh3.Cleaner(
    tags=_ALLOWED_TAGS,
    clean_content_tags={"script", "style"},
    attributes={
        "a": {"href", "title"},
        "img": {"src", "alt", "title"},
        "ol": {"start"},
        "th": {"style"},
        "td": {"style"},
        "code": {"class"},
    },
    url_schemes={"http", "https", "mailto"},
    link_rel="nofollow noopener noreferrer",
    filter_style_properties={"text-align"},
)


def render_markdown(text: str) -> Markup:
    """Render a Markdown statement to sanitised HTML, ready for a template."""
    tokens = _md.parse(text or "")
    for token in tokens:
        if token.type in ("heading_open", "heading_close"):
            level = int(token.tag[1])
            token.tag = f"h{min(level + 1, 6)}"
    html = _md.renderer.render(tokens, _md.options, {})
    return Markup(_cleaner.clean(html))  # noqa: S704 - nh3 sanitised it just above
