"""End to end in a real headless Chromium against gunicorn: every form with JavaScript
off, then again with it on (no reload, pushState, errors in place), and /compare both ways.

Screenshots of the list, the form with errors and /compare go to /tmp/shots/.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import BrowserContext, Page, Route, expect

from tests.support.browser import SHOTS, assert_not_reloaded, mark
from tests.support.servers import LiveServer

USER = "bella"
USER_PASSWORD = "bella-password-1"


@pytest.fixture(scope="module")
def server(live_server: LiveServer) -> LiveServer:
    """The live server with the sample problems and one account."""
    assert live_server.flask("seed").returncode == 0
    created = live_server.flask("users", "create", USER, stdin=USER_PASSWORD + "\n")
    assert created.returncode == 0, created.stderr
    return live_server


def path_of(page: Page, server: LiveServer) -> str:
    assert page.url.startswith(server.base_url), page.url
    return page.url[len(server.base_url) :]


# -- JavaScript off: plain HTML forms --------------------------------------------------


def test_sign_in_create_edit_delete_with_javascript_off(
    server: LiveServer, no_js: BrowserContext
) -> None:
    page = no_js.new_page()
    page.goto(server.url("/problems/new"))
    # sent to sign in, and back afterwards
    assert path_of(page, server) == "/login?next=/problems/new"
    expect(page.locator("#flash")).to_contain_text("Sign in to continue.")
    page.fill("#name", USER)
    page.fill("#password", USER_PASSWORD)
    with page.expect_navigation():
        page.get_by_role("button", name="Sign in").click()
    assert path_of(page, server) == "/problems/new"
    expect(page.locator("#flash")).to_contain_text(f"Signed in as {USER}.")

    # invalid: 422, errors beside the fields, what was typed kept
    page.fill("#name", "Plain HTML problem")
    page.select_option("#difficulty", "hard")
    page.fill("#tags", "graphs, Bad Tag!")
    page.fill("#statement", "Find the **shortest** path.")
    with page.expect_navigation():
        page.get_by_role("button", name="Create problem").click()
    expect(page.locator("#tags-error")).to_contain_text("Each tag is 1 to 30 characters")
    expect(page.locator("#statement")).to_have_value("Find the **shortest** path.")
    expect(page.locator("#difficulty")).to_have_value("hard")
    page.screenshot(path=str(SHOTS / "form-errors-no-js.png"), full_page=True)

    page.fill("#tags", "graphs, bfs")
    with page.expect_navigation():
        page.get_by_role("button", name="Create problem").click()
    assert re.fullmatch(r"/problems/\d+", path_of(page, server))
    expect(page.locator("h1")).to_have_text("Plain HTML problem")
    expect(page.locator("#flash")).to_contain_text("Created “Plain HTML problem”.")
    expect(page.locator("#flash .flash")).to_be_in_viewport(ratio=1)
    expect(page.locator(".prose strong")).to_have_text("shortest")
    detail = path_of(page, server)

    with page.expect_navigation():
        page.get_by_role("link", name="Edit problem").click()
    page.fill("#name", "Plain HTML problem, edited")
    with page.expect_navigation():
        page.get_by_role("button", name="Save changes").click()
    assert path_of(page, server) == detail
    expect(page.locator("#flash")).to_contain_text("Saved “Plain HTML problem, edited”.")

    page.get_by_text("Delete…").click()
    with page.expect_navigation():
        page.get_by_role("button", name="Delete problem").click()
    assert path_of(page, server) == "/"
    expect(page.locator("#flash")).to_contain_text("Deleted “Plain HTML problem, edited”.")
    assert page.goto(server.url(detail)).status == 404  # type: ignore[union-attr]

    with page.expect_navigation():
        page.get_by_role("button", name="Sign out").click()
    expect(page.locator("#flash")).to_contain_text("You are signed out.")


def test_list_and_search_with_javascript_off(server: LiveServer, no_js: BrowserContext) -> None:
    page = no_js.new_page()
    page.goto(server.url("/"))
    expect(page.locator(".problem-card").first).to_be_visible()
    page.screenshot(path=str(SHOTS / "list.png"), full_page=True)
    page.fill("#q", "sum")
    with page.expect_navigation():
        page.get_by_role("button", name="Search").click()
    assert path_of(page, server) == "/?q=sum"  # redirected without the empty fields
    for title in page.locator(".problem-card__title").all_inner_texts():
        assert "sum" in title.lower()
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(server.url("/"))
    page.screenshot(path=str(SHOTS / "list-phone.png"), full_page=False)


def test_compare_with_javascript_off_shows_server_rendered_values(
    server: LiveServer, no_js: BrowserContext
) -> None:
    page = no_js.new_page()
    page.goto(server.url("/compare"))
    static = page.locator('[data-live-url="/api/clock/static"]')
    expect(static.locator('[data-live="x-cache"]')).to_have_text(re.compile("^(MISS|HIT)$"))
    expect(static.locator('[data-live="value"]')).to_have_text(re.compile(r"^\d{4}-\d\d-\d\dT"))
    dynamic = page.locator('[data-live-url="/api/clock/dynamic"]')
    expect(dynamic.locator('[data-live="x-cache"]')).to_have_text("none")
    problems = page.locator('[data-live-url="/api/problems"]')
    expect(problems.locator('[data-live="value"]')).to_have_text(re.compile(r"^\d+ problems?$"))
    search = page.locator('[data-live-url="/api/search?q=tree"]')
    expect(search.locator('[data-live="x-data-cache"]')).to_have_text(re.compile("^(MISS|HIT)$"))
    expect(search.locator('[data-live="x-cache"]')).to_have_text("none")
    # The sections fold without JavaScript: the first is open, a click on a heading opens its own.
    expect(page.locator("details.fold[open]")).to_have_count(1)
    expect(page.get_by_role("heading", name="Side by side", level=2)).to_be_visible()
    section = page.locator("details.fold", has=page.locator("#flask-caching"))
    expect(section.get_by_text("Where it breaks")).to_be_hidden()
    page.get_by_role("heading", name="With Flask-Caching alone", level=2).click()
    expect(section.get_by_text("Where it breaks")).to_be_visible()
    # "Call again" without JavaScript is a link that renders the page again
    with page.expect_navigation():
        page.get_by_role("button", name="Call again").click()
    expect(static.locator('[data-live="x-cache"]')).to_have_text("HIT")
    expect(search.locator('[data-live="x-data-cache"]')).to_have_text("HIT")


# -- JavaScript on: the same forms, enhanced -----------------------------------------------


def sign_in_with_js(page: Page, server: LiveServer) -> None:
    page.goto(server.url("/login"))
    mark(page)
    page.fill("#name", USER)
    page.fill("#password", USER_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#flash")).to_contain_text(f"Signed in as {USER}.")
    assert_not_reloaded(page)
    assert path_of(page, server) == "/"
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()  # the nav was swapped


def test_sign_in_create_edit_delete_with_javascript_on_never_reloads(
    server: LiveServer, with_js: BrowserContext
) -> None:
    page = with_js.new_page()
    loads: list[str] = []
    page.on("load", lambda p: loads.append(p.url))
    sign_in_with_js(page, server)

    page.goto(server.url("/problems/new"))
    mark(page)
    page.fill("#name", "Enhanced problem")
    page.fill("#tags", "Nope Nope")
    page.fill("#statement", "Kept *as typed*.")

    # pending: hold the POST and look at the form while it waits
    held: list[Route] = []
    page.route("**/problems/new", lambda route: held.append(route))
    page.get_by_role("button", name="Create problem").click()
    expect(page.locator("form[aria-busy='true']")).to_have_count(1)
    expect(page.get_by_role("button", name="Saving…")).to_be_disabled()
    for field in ("#name", "#tags", "#statement"):  # what is typed now would be lost
        expect(page.locator(field)).not_to_be_editable()
    expect(page.locator("#difficulty")).to_be_disabled()
    for _ in range(250):
        if held:
            break
        page.wait_for_timeout(20)  # lets Playwright deliver the intercepted request
    assert len(held) == 1 and held[0].request.method == "POST"
    held[0].continue_()
    page.unroute("**/problems/new")

    # a 422 is shown in place, errors beside the fields, nothing reloaded
    expect(page.locator("#tags-error")).to_contain_text("Each tag is 1 to 30 characters")
    expect(page.locator("[data-error-summary]")).to_be_focused()
    expect(page.locator("#statement")).to_have_value("Kept *as typed*.")
    assert path_of(page, server) == "/problems/new"
    assert_not_reloaded(page)
    page.screenshot(path=str(SHOTS / "form-errors.png"), full_page=True)

    page.fill("#tags", "strings")
    page.get_by_role("button", name="Create problem").click()
    expect(page.locator("#flash")).to_contain_text("Created “Enhanced problem”.")
    expect(page.locator("h1")).to_have_text("Enhanced problem")
    # the new page's heading has the focus, and the flash above it is in sight
    expect(page.locator("h1")).to_be_focused()
    expect(page.locator("#flash .flash")).to_be_in_viewport(ratio=1)
    expect(page).to_have_title("Enhanced problem · Practice Problems")
    assert re.fullmatch(r"/problems/\d+", path_of(page, server))  # pushState
    assert_not_reloaded(page)
    detail = path_of(page, server)

    page.get_by_role("link", name="Edit problem").click()  # a link: an ordinary page load
    page.wait_for_url(server.url(detail + "/edit"))
    mark(page)
    page.fill("#name", "Enhanced problem, edited")
    page.get_by_role("button", name="Save changes").click()
    expect(page.locator("#flash")).to_contain_text("Saved “Enhanced problem, edited”.")
    assert path_of(page, server) == detail
    assert_not_reloaded(page)

    page.get_by_text("Delete…").click()
    page.get_by_role("button", name="Delete problem").click()
    expect(page.locator("#flash")).to_contain_text("Deleted “Enhanced problem, edited”.")
    assert path_of(page, server) == "/"
    assert_not_reloaded(page)

    # back: popstate fetches the page and swaps it in (the problem is gone: its 404 page)
    page.go_back()
    expect(page.locator("h1")).to_have_text("Page not found")
    assert path_of(page, server) == detail
    assert_not_reloaded(page)
    page.go_forward()
    expect(page.locator("h1")).to_have_text("Problems")
    assert_not_reloaded(page)

    # the search form is enhanced too (GET): the address follows the query
    page.fill("#q", "sum")
    page.get_by_role("button", name="Search").click()
    page.wait_for_url(re.compile(r"/\?q=sum$"))  # the empty fields are left out
    expect(page.locator(".result-count")).to_contain_text("match")
    assert_not_reloaded(page)

    page.get_by_role("button", name="Sign out").click()
    expect(page.locator("#flash")).to_contain_text("You are signed out.")
    expect(page.get_by_role("link", name="Sign in")).to_be_visible()
    assert_not_reloaded(page)
    # Pages were loaded only by goto and by the one link followed; never by a form.
    loaded_on_purpose = {server.url(p) for p in ("/login", "/problems/new", detail + "/edit")}
    assert [url for url in loads if url not in loaded_on_purpose] == []
    assert server.url(detail + "/edit") in loads


def test_a_token_is_shown_once_with_javascript_on(
    server: LiveServer, with_js: BrowserContext
) -> None:
    page = with_js.new_page()
    sign_in_with_js(page, server)
    page.goto(server.url("/account/tokens"))
    mark(page)
    page.fill("#label", "browser test")
    page.get_by_role("button", name="Create token").click()
    token = page.locator("#new-token")
    expect(token).to_have_value(re.compile(r"^pp_"))
    # "Try it" runs as it is: the whole token, not a shortened one
    expect(page.locator("[data-try-it]")).to_contain_text(f"Bearer {token.input_value()} ")
    expect(page.locator("#flash .flash")).to_be_in_viewport(ratio=1)
    assert_not_reloaded(page)
    page.get_by_text("Revoke…").first.click()  # it asks first
    page.get_by_role("button", name="Revoke token").first.click()
    expect(page.locator("#flash")).to_contain_text("Revoked the token")
    expect(page.locator("#new-token")).to_have_count(0)  # shown once
    expect(page.locator("[data-try-it]")).to_contain_text("Bearer YOUR_TOKEN ")
    assert_not_reloaded(page)


def test_compare_with_javascript_on_calls_the_routes_again(
    server: LiveServer, with_js: BrowserContext
) -> None:
    page = with_js.new_page()
    page.goto(server.url("/compare"))
    mark(page)
    page.get_by_role("button", name="Call again").click()
    source = page.locator("[data-live-source]")
    expect(source).to_contain_text("Fetched by your browser")
    static = page.locator('[data-live-url="/api/clock/static"]')
    expect(static.locator('[data-live="x-cache"]')).to_have_text("HIT")
    revalidate = page.locator('[data-live-url="/api/clock/revalidate"]')
    expect(revalidate.locator('[data-live="x-cache"]')).to_have_text(re.compile("^(HIT|MISS)$"))
    dynamic = page.locator('[data-live-url="/api/clock/dynamic"]')
    expect(dynamic.locator('[data-live="x-cache"]')).to_have_text("none")
    expect(dynamic.locator('[data-live="cache-control"]')).to_contain_text("no-store")
    expect(page.locator('[data-live-url="/api/problems"] [data-live="value"]')).to_have_text(
        re.compile(r"^\d+ problems?$")
    )
    expect(static.locator('[data-live="ms"]')).to_have_text(re.compile(r"^[\d.]+ ms$"))
    search = page.locator('[data-live-url="/api/search?q=tree"]')
    expect(search.locator('[data-live="x-data-cache"]')).to_have_text("HIT")
    expect(search.locator('[data-live="value"]')).to_have_text(re.compile(r"^\d+ problems?$"))
    assert path_of(page, server) == "/compare"
    assert_not_reloaded(page)
    # A link of the table of contents opens the section it points to.
    section = page.locator("details.fold", has=page.locator("#flask-caching"))
    expect(section).not_to_have_attribute("open", "")
    page.get_by_role("navigation", name="On this page").get_by_role(
        "link", name="With Flask-Caching alone"
    ).click()
    expect(section).to_have_attribute("open", "")
    expect(page.locator("#flask-caching")).to_be_in_viewport()
    expect(section.get_by_text("Where it breaks")).to_be_visible()
    assert_not_reloaded(page)
    page.screenshot(path=str(SHOTS / "compare.png"), full_page=True)
    page.locator("#live").screenshot(path=str(SHOTS / "compare-live.png"))


def test_the_api_docs_render_under_their_content_security_policy(
    server: LiveServer, with_js: BrowserContext
) -> None:
    # with_js fails the test on any CSP violation or script error.
    page = with_js.new_page()
    response = page.goto(server.url("/api/docs"))
    assert response is not None
    assert "script-src 'self'" in response.headers["content-security-policy"]
    assert response.headers["x-frame-options"] == "DENY"
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("Practice Problems API")
    operation = page.locator(".opblock-summary-path", has_text="/api/problems/{problem_id}")
    expect(operation.first).to_be_visible()
    page.locator(".opblock-get .opblock-summary").first.click()
    expect(page.locator(".opblock-body .responses-table").first).to_be_visible()
    page.screenshot(path=str(SHOTS / "api-docs.png"), full_page=False)
