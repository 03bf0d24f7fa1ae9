"""Finding, previewing and reading problems in Chromium, as a newcomer would, on a phone and a
desktop, JavaScript off and on: the first problem in view on a phone, "Page N of M", sorting,
``#tag``, a statement's wide table, the Preview button, focus kept in the search box, Escape
closing a confirmation, and no control that needs JavaScript shown without it."""

from __future__ import annotations

import re

import pytest
import requests
from playwright.sync_api import BrowserContext, Page, expect

from tests.support.auth import bearer
from tests.support.browser import SHOTS, assert_not_reloaded, mark
from tests.support.servers import LiveServer

USER = "finder"
PASSWORD = "finder-password-1"
PHONE = {"width": 390, "height": 844}
WIDE_TABLE = (
    "| "
    + " | ".join(f"column{n}" for n in range(24))
    + " |\n|"
    + "---|" * 24
    + "\n| "
    + " | ".join("value" for _ in range(24))
    + " |\n\nSee_this_identifier_that_goes_on_and_on_without_a_single_break_anywhere_at_all_ok\n"
)


@pytest.fixture(scope="module")
def server(live_server: LiveServer) -> LiveServer:
    """The sample problems, and one of the finder's with a wide table in its statement."""
    assert live_server.flask("seed").returncode == 0
    token = live_server.user_token(USER, PASSWORD)
    made = requests.post(
        live_server.url("/api/problems"),
        json={"name": "Wide Table", "tags": ["tables"], "statement": WIDE_TABLE},
        headers=bearer(token),
        timeout=10,
    )
    assert made.status_code == 201, made.text
    live_server.wide_id = made.json()["id"]  # type: ignore[attr-defined]
    return live_server


def sign_in(page: Page, server: LiveServer) -> None:
    page.goto(server.url("/login"))
    page.get_by_label("Name").fill(USER)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_text(f"Signed in as {USER}.")).to_be_visible()


def open_page(context: BrowserContext, size: dict[str, int] | None = None) -> Page:
    page = context.new_page()
    if size is not None:
        page.set_viewport_size(size)  # type: ignore[arg-type]
    return page


def page_width(page: Page) -> int:
    return int(page.evaluate("document.scrollingElement.scrollWidth"))


@pytest.mark.parametrize("javascript", [False, True])
def test_on_a_phone_the_first_problem_is_in_view(
    server: LiveServer, no_js: BrowserContext, with_js: BrowserContext, javascript: bool
) -> None:
    page = open_page(with_js if javascript else no_js, PHONE)
    page.goto(server.url("/"))
    first = page.locator(".problem-card").first
    box = first.bounding_box()
    assert box is not None
    assert box["y"] + 40 <= PHONE["height"], box  # its title is in view, unscrolled
    assert page_width(page) <= PHONE["width"]
    page.screenshot(path=str(SHOTS / f"list-phone-js-{javascript}.png"))


def test_search_controls_are_one_height_and_line_up(
    server: LiveServer, no_js: BrowserContext
) -> None:
    page = open_page(no_js, {"width": 1280, "height": 800})
    page.goto(server.url("/"))
    boxes = [
        page.locator(selector).bounding_box()
        for selector in ("#q", "#difficulty", "#tag", "#sort", ".search button[type=submit]")
    ]
    assert all(box is not None for box in boxes)
    heights = {round(box["height"]) for box in boxes if box}
    tops = {round(box["y"]) for box in boxes if box}
    assert len(heights) == 1, heights
    assert len(tops) == 1, tops


def test_pages_say_where_they_are_sort_and_take_a_tag_as_shown(
    server: LiveServer, no_js: BrowserContext
) -> None:
    page = no_js.new_page()
    page.goto(server.url("/?limit=10"))
    expect(page.locator(".pager__where")).to_have_text("Page 1 of 4")
    page.get_by_role("link", name="Next →").click()
    expect(page.locator(".pager__where")).to_have_text("Page 2 of 4")
    page.goto(server.url("/"))
    page.get_by_label("Sort by").select_option("name")
    page.get_by_label("Tag", exact=True).fill("#trees")
    page.get_by_role("button", name="Search").click()
    assert "sort=name" in page.url and "tag=" in page.url
    names = page.locator(".problem-card__title").all_inner_texts()
    assert names and names == sorted(names, key=str.casefold)
    for card in page.locator(".problem-card").all():
        expect(card.locator(".tag-list, .tags").first).to_contain_text("#trees")


def test_with_javascript_a_search_keeps_the_focus_in_its_box(
    server: LiveServer, with_js: BrowserContext
) -> None:
    page = with_js.new_page()
    page.goto(server.url("/"))
    mark(page)
    box = page.get_by_label("Name contains")
    box.fill("tree")
    box.press("Enter")
    expect(page).to_have_url(re.compile(r"\?q=tree$"))
    expect(page.locator(".problem-card").first).to_be_visible()
    assert page.evaluate("document.activeElement.id") == "q"
    box.press("End")
    page.keyboard.type("s")  # refine at once
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"\?q=trees$"))
    assert page.evaluate("document.activeElement.id") == "q"
    assert_not_reloaded(page)


@pytest.mark.parametrize("width", [390, 1280])
def test_a_wide_table_scrolls_in_its_region_never_the_page(
    server: LiveServer, no_js: BrowserContext, width: int
) -> None:
    page = open_page(no_js, {"width": width, "height": 900})
    page.goto(server.url(f"/problems/{server.wide_id}"))  # type: ignore[attr-defined]
    region = page.get_by_role("region", name="Table 1")
    expect(region).to_be_visible()
    assert page_width(page) <= width
    assert region.evaluate("r => r.scrollWidth > r.clientWidth")  # it scrolls, inside
    region.focus()
    page.keyboard.press("ArrowRight")
    # and the keyboard scrolls it (smoothly, so the test waits for it)
    for _ in range(40):
        if region.evaluate("r => r.scrollLeft") > 0:
            break
        page.wait_for_timeout(50)
    assert region.evaluate("r => r.scrollLeft") > 0
    page.screenshot(path=str(SHOTS / f"wide-table-{width}.png"), full_page=True)


@pytest.mark.parametrize("javascript", [False, True])
def test_preview_renders_and_keeps_what_was_typed(
    server: LiveServer, no_js: BrowserContext, with_js: BrowserContext, javascript: bool
) -> None:
    page = (with_js if javascript else no_js).new_page()
    sign_in(page, server)
    page.goto(server.url("/problems/new"))
    if javascript:
        mark(page)
    page.get_by_label("Name").fill("Previewed")
    page.get_by_label("Statement").fill("## Goal\n\nSort **fast**.\n\n<b>raw</b>")
    page.get_by_role("button", name="Preview").click()
    preview = page.locator("#preview")
    expect(preview.locator("strong")).to_have_text("fast")
    expect(preview).to_contain_text("<b>raw</b>")  # shown as text
    expect(page.get_by_label("Name")).to_have_value("Previewed")
    expect(page.get_by_label("Statement")).to_have_value("## Goal\n\nSort **fast**.\n\n<b>raw</b>")
    if javascript:
        assert_not_reloaded(page)
        assert page.evaluate("document.activeElement.id") == "preview"
    problems = requests.get(server.url("/api/search"), params={"q": "Previewed"}, timeout=10)
    assert problems.json() == []  # nothing saved


def test_escape_closes_the_delete_confirmation(server: LiveServer, with_js: BrowserContext) -> None:
    page = with_js.new_page()
    sign_in(page, server)
    page.goto(server.url(f"/problems/{server.wide_id}"))  # type: ignore[attr-defined]
    summary = page.locator("details.confirm summary")
    summary.click()
    expect(page.get_by_role("button", name="Delete problem")).to_be_visible()
    page.get_by_role("button", name="Delete problem").focus()
    page.keyboard.press("Escape")
    expect(page.get_by_role("button", name="Delete problem")).to_be_hidden()
    assert page.evaluate("document.activeElement.tagName") == "SUMMARY"


def test_without_javascript_no_copy_button_shows(server: LiveServer, no_js: BrowserContext) -> None:
    page = no_js.new_page()
    sign_in(page, server)
    page.goto(server.url("/account/tokens"))
    page.get_by_label("Label").fill("no-js")
    page.get_by_role("button", name="Create token").click()
    expect(page.locator("#new-token")).to_be_visible()
    expect(page.locator("[data-copy]")).to_be_hidden()
