"""The account pages in a real headless Chromium against gunicorn, JavaScript off and on:
revoking a token asks first (the button waits in a closed ``<details>``), revoked tokens
are kept apart and cleared, and changing the password signs out every other browser while
this one stays signed in.

Screenshots go to /tmp/shots/accounts/.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import requests
from playwright.sync_api import Browser, BrowserContext, Locator, Page, expect

from tests.support.auth import bearer
from tests.support.browser import SHOTS, assert_not_reloaded, mark, watch_errors
from tests.support.servers import LiveServer

OLD_PASSWORD = "old-password-1"
NEW_PASSWORD = "new-password-2"


@pytest.fixture(scope="module")
def shots() -> Path:
    folder = SHOTS / "accounts"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture
def contexts(browser: Browser) -> Iterator[Callable[[bool], BrowserContext]]:
    """Open browser contexts, JavaScript on or off; the test fails on a script error or a
    CSP violation in any of them."""
    opened: list[BrowserContext] = []
    problems: list[str] = []

    def open_context(js: bool) -> BrowserContext:
        context = browser.new_context(java_script_enabled=js)
        watch_errors(context, problems)
        opened.append(context)
        return context

    yield open_context
    for context in opened:
        context.close()
    assert problems == []


def path_of(page: Page, server: LiveServer) -> str:
    assert page.url.startswith(server.base_url), page.url
    return page.url[len(server.base_url) :]


def assert_not_reloaded_with_js(page: Page, js: bool) -> None:
    if js:
        assert_not_reloaded(page)


def press(page: Page, js: bool, target: Locator) -> None:
    """Click ``target``: without JavaScript that loads a page; with it, nothing is reloaded."""
    if js:
        target.click()
    else:
        with page.expect_navigation():
            target.click()


def sign_in(page: Page, server: LiveServer, name: str, password: str, js: bool) -> None:
    page.goto(server.url("/login"))
    page.fill("#name", name)
    page.fill("#password", password)
    press(page, js, page.get_by_role("button", name="Sign in"))
    expect(page.locator("#flash")).to_contain_text(f"Signed in as {name}.")


def whoami(server: LiveServer, context: BrowserContext) -> str | None:
    """Who the context's cookies sign in, asked over plain HTTP."""
    cookies = {c["name"]: c["value"] for c in context.cookies()}
    user = requests.get(server.url("/api/whoami"), cookies=cookies, timeout=10).json()["user"]
    return user["name"] if user else None


@pytest.mark.parametrize("js", [False, True], ids=["javascript-off", "javascript-on"])
def test_revoking_a_token_asks_first_and_revoked_tokens_are_kept_apart(
    live_server: LiveServer,
    contexts: Callable[[bool], BrowserContext],
    shots: Path,
    js: bool,
) -> None:
    name = f"revoker{int(js)}"
    api_token = live_server.user_token(name, OLD_PASSWORD)  # labelled "cli"
    context = contexts(js)
    page = context.new_page()
    sign_in(page, live_server, name, OLD_PASSWORD, js)
    page.goto(live_server.url("/account/tokens"))
    mark(page)
    page.fill("#label", "laptop")
    press(page, js, page.get_by_role("button", name="Create token"))
    expect(page.locator("#new-token")).to_be_visible()
    assert_not_reloaded_with_js(page, js)

    row = page.locator("tbody tr", has_text="laptop")
    revoke = row.get_by_role("button", name="Revoke token")
    expect(revoke).to_be_hidden()  # in the closed <details>: one click cannot revoke
    row.get_by_text("Revoke…").click()
    expect(row.locator("details.confirm")).to_have_attribute("open", "")
    expect(row.locator(".confirm__body")).to_contain_text("Revoke the token “laptop” (pp_")
    expect(row.locator(".confirm__body")).to_contain_text("Programs using it will get 401.")
    expect(revoke).to_be_visible()
    page.screenshot(path=str(shots / f"revoke-asks-{'js' if js else 'no-js'}.png"), full_page=True)
    press(page, js, revoke)
    expect(page.locator("#flash")).to_contain_text("Revoked the token pp_")
    expect(page.locator("#flash")).to_contain_text("(laptop)")
    assert path_of(page, live_server) == "/account/tokens"
    assert_not_reloaded_with_js(page, js)

    # The active table no longer has it; the revoked ones are apart, folded.
    active = page.locator("section", has=page.locator("#list-title"))
    expect(active.locator("tbody tr")).to_have_count(1)  # the CLI's token
    expect(active).not_to_contain_text("laptop")
    revoked = page.locator("section", has=page.locator("#revoked-title"))
    expect(revoked.locator("details.fold")).not_to_have_attribute("open", "")
    expect(revoked.get_by_text("laptop")).to_be_hidden()
    page.get_by_role("heading", name="Revoked tokens (1)").click()
    expect(revoked.locator("tr", has_text="laptop")).to_contain_text("Revoked")
    expect(revoked.locator("tr", has_text="laptop")).to_be_visible()

    press(page, js, revoked.get_by_role("button", name="Clear revoked tokens"))
    expect(page.locator("#flash")).to_contain_text("Cleared 1 revoked token.")
    expect(page.locator("#revoked-title")).to_have_count(0)
    expect(page.locator("main table")).not_to_contain_text("laptop")
    assert_not_reloaded_with_js(page, js)
    # the token the CLI made is untouched
    who = requests.get(live_server.url("/api/whoami"), headers=bearer(api_token), timeout=10)
    assert who.json()["user"]["name"] == name


@pytest.mark.parametrize("js", [False, True], ids=["javascript-off", "javascript-on"])
def test_changing_the_password_signs_out_the_other_browser_and_keeps_this_one(
    live_server: LiveServer,
    contexts: Callable[[bool], BrowserContext],
    shots: Path,
    js: bool,
) -> None:
    name = f"changer{int(js)}"
    live_server.user_token(name, OLD_PASSWORD)
    other = contexts(True)  # another browser, signed in before the change
    other_page = other.new_page()
    sign_in(other_page, live_server, name, OLD_PASSWORD, js=True)
    assert whoami(live_server, other) == name

    context = contexts(js)
    page = context.new_page()
    sign_in(page, live_server, name, OLD_PASSWORD, js)
    page.goto(live_server.url("/account/tokens"))
    press(page, js, page.get_by_role("main").get_by_role("link", name="Change your password"))
    assert path_of(page, live_server) == "/account/password"
    expect(page.get_by_role("heading", level=1)).to_have_text("Change your password")
    mark(page)

    # a wrong current password: 422, the error beside the field, nothing changed
    page.fill("#current_password", "not-the-password")
    page.fill("#password", NEW_PASSWORD)
    page.fill("#confirm", NEW_PASSWORD)
    press(page, js, page.get_by_role("button", name="Change password"))
    expect(page.locator("#current_password-error")).to_contain_text(
        "That is not your current password."
    )
    if js:
        expect(page.locator("[data-error-summary]")).to_be_focused()
    assert path_of(page, live_server) == "/account/password"
    assert_not_reloaded_with_js(page, js)
    assert whoami(live_server, other) == name
    page.screenshot(path=str(shots / f"password-error-{'js' if js else 'no-js'}.png"))

    page.fill("#current_password", OLD_PASSWORD)
    page.fill("#password", NEW_PASSWORD)
    page.fill("#confirm", NEW_PASSWORD)
    press(page, js, page.get_by_role("button", name="Change password"))
    expect(page.locator("#flash")).to_contain_text(
        "Your password has changed; you were signed out everywhere else."
    )
    assert path_of(page, live_server) == "/account/tokens"
    assert_not_reloaded_with_js(page, js)
    # this browser stays signed in, and its forms work (the swapped ones carry the new token)
    assert whoami(live_server, context) == name
    page.fill("#label", "after the change")
    press(page, js, page.get_by_role("button", name="Create token"))
    expect(page.locator("#flash")).to_contain_text("Token created.")
    assert_not_reloaded_with_js(page, js)

    # the other browser is signed out
    other_page.goto(live_server.url("/problems/new"))
    assert path_of(other_page, live_server) == "/login?next=/problems/new"
    expect(other_page.locator("#flash")).to_contain_text("Sign in to continue.")
    assert whoami(live_server, other) is None

    # the old password no longer signs in; the new one does
    fresh = contexts(js)
    fresh_page = fresh.new_page()
    fresh_page.goto(live_server.url("/login"))
    fresh_page.fill("#name", name)
    fresh_page.fill("#password", OLD_PASSWORD)
    press(fresh_page, js, fresh_page.get_by_role("button", name="Sign in"))
    expect(fresh_page.locator("main")).to_contain_text("That name and password do not match")
    sign_in(fresh_page, live_server, name, NEW_PASSWORD, js)
