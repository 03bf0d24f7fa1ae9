"""Debian's Chromium for Playwright (no browser download), where screenshots go, and what
the browser tests check on every page they drive."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import BrowserContext, Page

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SHOTS = Path("/tmp/shots")


def mark(page: Page) -> None:
    """Set a marker that only survives if the page is never reloaded."""
    page.evaluate("window.__marker = 1")


def assert_not_reloaded(page: Page) -> None:
    assert page.evaluate("window.__marker") == 1, "the page was reloaded"


def watch_errors(context: BrowserContext, problems: list[str]) -> None:
    """Record in ``problems`` every script error and CSP violation of ``context``'s pages."""
    context.on(
        "console",
        lambda message: (
            problems.append(message.text)
            if message.type == "error" and "Content Security Policy" in message.text
            else None
        ),
    )
    context.on("weberror", lambda error: problems.append(str(error.error)))
