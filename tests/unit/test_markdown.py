"""Problem statements: CommonMark with tables, rendered harmless."""

from __future__ import annotations

import re

import pytest
from markupsafe import Markup

from practice_app.markdown import render_markdown


def tags_of(html: str) -> list[str]:
    return re.findall(r"<[a-zA-Z][^>]*>", html)


def test_commonmark_and_tables() -> None:
    html = render_markdown(
        "Some **bold**, *em* and `code`.\n\n"
        "1. one\n2. two\n\n"
        "| a | b |\n|:--|--:|\n| 1 | 2 |\n\n"
        "```python\nprint('<hi>')\n```\n"
    )
    assert isinstance(html, Markup)
    assert "<strong>bold</strong>" in html and "<em>em</em>" in html
    assert "<code>code</code>" in html
    assert "<ol>" in html and "<li>two</li>" in html
    assert '<th style="text-align:left">a</th>' in html
    assert '<td style="text-align:right">2</td>' in html
    assert "<pre><code class=\"language-python\">print('&lt;hi&gt;')" in html


def test_headings_move_one_level_down() -> None:
    html = render_markdown("# One\n\n## Two\n\n###### Six")
    assert "<h2>One</h2>" in html and "<h3>Two</h3>" in html and "<h6>Six</h6>" in html
    assert "<h1" not in html


@pytest.mark.parametrize(
    "source",
    [
        "<script>alert(1)</script>",
        "<img src=x onerror=alert(1)>",
        "[x](javascript:alert(1))",
        "[x](JaVaScRiPt:alert(1))",
        "[x](  javascript:alert(1) )",
        "[x](vbscript:msgbox(1))",
        "[x](data:text/html;base64,PHNjcmlwdD4=)",
        "![x](javascript:alert(1))",
        "<javascript:alert(1)>",
        '<a href="javascript:alert(1)" onclick="alert(2)">x</a>',
        "<iframe src=https://evil.example></iframe>",
        "<style>body{display:none}</style>",
        '<div style="position:fixed" onmouseover="alert(1)">x</div>',
        "<svg><script>alert(1)</script></svg>",
        "[x](java\tscript:alert(1))",
        "[x](&#106;avascript:alert(1))",
    ],
)
def test_raw_html_and_script_links_come_out_harmless(source: str) -> None:
    html = str(render_markdown(f"Before\n\n{source}\n\nAfter"))
    assert "Before" in html and "After" in html
    for tag in tags_of(html):
        name = tag[1:].split()[0].rstrip(">").lower()
        assert name in {"p", "a", "img", "code", "em", "strong"}, tag
        assert not re.search(r"\son\w+\s*=", tag, re.I), tag
        assert "style=" not in tag, tag
        href = re.search(r'(?:href|src)="([^"]*)"', tag)
        if href:
            assert re.match(r"(https?:|mailto:|[^:]*$)", href.group(1), re.I), tag


def test_raw_html_is_shown_as_text() -> None:
    html = render_markdown("<b>bold?</b> <script>alert(1)</script>")
    assert "&lt;b&gt;bold?&lt;/b&gt;" in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_links_keep_safe_schemes_and_get_rel() -> None:
    html = render_markdown("[a](https://example.com) [b](mailto:x@example.com) [c](/problems/1)")
    assert '<a href="https://example.com" rel="nofollow noopener noreferrer">a</a>' in html
    assert 'href="mailto:x@example.com"' in html
    assert 'href="/problems/1"' in html


def test_empty_statement() -> None:
    assert render_markdown("") == ""
