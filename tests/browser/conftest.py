"""Fixtures of the browser tests: Debian's Chromium, driven by Playwright."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, sync_playwright

from tests.support.browser import CHROMIUM, CHROMIUM_ARGS, SHOTS, watch_errors


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Headless Chromium for one test module; its screenshots go under ``SHOTS``."""
    assert Path(CHROMIUM).exists(), "the browser tests need Chromium: apt-get install chromium"
    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def no_js(browser: Browser) -> Iterator[BrowserContext]:
    """A context with JavaScript off: the pages as plain HTML forms."""
    context = browser.new_context(java_script_enabled=False)
    yield context
    context.close()


@pytest.fixture
def with_js(browser: Browser) -> Iterator[BrowserContext]:
    """A context with JavaScript on that fails the test on a script error or a CSP violation."""
    context = browser.new_context()
    problems: list[str] = []
    watch_errors(context, problems)
    yield context
    context.close()
    assert problems == []
