"""Every page in a real Chromium, as everyone uses it: axe-core, phone width, dark mode.

Each page is visited at 1280 and 390 px wide, in the light and the dark colour scheme,
signed in (the longer nav) and signed out, a statement's preview too; /api/docs (Swagger
UI in the site's theme) once its script has drawn the operations. axe-core (bundled by
axe-playwright-python) must report no serious or critical violation, and no heading-
level jump; at 390 px the page must need no sideways scrolling and no table may be cut
off. Screenshots of every page go to /tmp/shots/a11y/.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import requests
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.support.browser import SHOTS
from tests.support.servers import LiveServer

ADMIN = "ada"
ADMIN_PASSWORD = "ada-password-1"
LONG_LINE = "x = [" + ", ".join(str(n) for n in range(80)) + "]"
STATEMENT = (
    "Given an array, answer.\n\n"
    "## Input\n\nA line.\n\n"
    "#### Edge cases\n\n"
    f"```python\n{LONG_LINE}\n```\n\n"
    "# Output\n\nAnother line.\n"
)
WIDTHS = {"desktop": (1280, 900), "phone": (390, 844)}
SCHEMES = ("light", "dark")
BLOCKING_IMPACTS = {"serious", "critical"}
# Pages a script draws after the load event: checked once this selector shows.
DRAWN_BY_SCRIPT = {"/api/docs": ".swagger-ui .opblock"}
axe = Axe()


@pytest.fixture(scope="module")
def server(live_server: LiveServer) -> LiveServer:
    """The live server with the sample problems, and a user's problem with long code."""
    assert live_server.flask("seed").returncode == 0
    token = live_server.user_token(ADMIN, ADMIN_PASSWORD)
    created = requests.post(
        live_server.url("/api/problems"),
        json={
            "name": "Long code",
            "difficulty": "easy",
            "tags": ["arrays"],
            "statement": STATEMENT,
        },
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    assert created.status_code == 201, created.text
    live_server.env["A11Y_PROBLEM"] = str(created.json()["id"])
    return live_server


@pytest.fixture(scope="module")
def shots() -> Path:
    """Where this module's screenshots go."""
    folder = SHOTS / "a11y"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="module")
def signed_in(server: LiveServer, browser: Browser) -> dict[str, Any]:
    """The storage state of a browser signed in as the author of the long-code problem."""
    context = browser.new_context()
    page = context.new_page()
    page.goto(server.url("/login"))
    page.fill("#name", ADMIN)
    page.fill("#password", ADMIN_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#flash")).to_contain_text(f"Signed in as {ADMIN}.")
    state = context.storage_state()
    context.close()
    return state  # type: ignore[return-value]


def problems(results: dict[str, Any]) -> list[str]:
    """The violations that fail a page: serious or critical ones, and heading-level jumps."""
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at "
        + "; ".join(" ".join(node["target"]) for node in v["nodes"][:5])
        for v in results["violations"]
        if v["impact"] in BLOCKING_IMPACTS or v["id"] == "heading-order"
    ]


def layout_problems(page: Page) -> list[str]:
    """Sideways scrolling of the page, and tables that do not fit their box."""
    found: list[str] = page.evaluate(
        """() => {
          const found = [];
          const root = document.scrollingElement;
          if (root.scrollWidth > root.clientWidth) {
            found.push(`the page scrolls sideways: ${root.scrollWidth} > ${root.clientWidth}`);
          }
          document.querySelectorAll(".table-wrap").forEach((wrap, index) => {
            if (wrap.scrollWidth > wrap.clientWidth + 1) {
              found.push(`table ${index} is cut off: ${wrap.scrollWidth} > ${wrap.clientWidth}`);
            }
          });
          return found;
        }"""
    )
    return found


def header_rows(page: Page, selector: str) -> int:
    """How many rows the header's elements matching ``selector`` take."""
    rows: int = page.evaluate(
        """(selector) => {
          const boxes = Array.from(document.querySelectorAll(selector), (el) =>
            el.getBoundingClientRect()).sort((a, b) => a.top - b.top);
          let rows = 0, bottom = -Infinity;
          for (const box of boxes) {
            if (box.top >= bottom - 4) { rows += 1; bottom = box.bottom; }
            else { bottom = Math.max(bottom, box.bottom); }
          }
          return rows;
        }""",
        selector,
    )
    return rows


def expire_csrf_token(page: Page, server: LiveServer) -> None:
    """Submit the sign-in form with a wrong CSRF token, as a stale tab would."""
    page.goto(server.url("/login"))
    page.fill("#name", ADMIN)
    page.fill("#password", ADMIN_PASSWORD)
    page.evaluate(
        """() => {
          const form = document.querySelector("form[action='/login']");
          form.querySelector("[name=csrf_token]").value = "expired";
          form.removeAttribute("data-enhance");
          form.submit();
        }"""
    )
    page.wait_for_load_state()


@pytest.mark.parametrize("scheme", SCHEMES)
@pytest.mark.parametrize("width", WIDTHS)
def test_every_page_passes_axe_and_fits(
    server: LiveServer,
    browser: Browser,
    signed_in: dict[str, Any],
    shots: Path,
    width: str,
    scheme: str,
) -> None:
    problem = server.env["A11Y_PROBLEM"]
    w, h = WIDTHS[width]
    context: BrowserContext = browser.new_context(
        viewport={"width": w, "height": h},
        color_scheme=scheme,  # type: ignore[arg-type]
        storage_state=signed_in,  # type: ignore[arg-type]
    )
    page = context.new_page()
    not_found: list[str] = []
    page.on(
        "response",
        lambda response: not_found.append(response.url) if response.status == 404 else None,
    )
    pages: list[tuple[str, str, int]] = [
        ("list", "/", 200),
        ("search", "/?q=tree", 200),
        ("problem", f"/problems/{problem}", 200),
        ("new", "/problems/new", 200),
        ("edit", f"/problems/{problem}/edit", 200),
        ("tokens", "/account/tokens", 200),
        ("password", "/account/password", 200),
        ("compare", "/compare", 200),
        ("api-docs", "/api/docs", 200),
    ]
    signed_out: list[tuple[str, str, int]] = [
        ("login", "/login", 200),
        ("register", "/register", 200),
        ("list-signed-out", "/", 200),
        ("not-found", "/no-such-page", 404),
    ]
    found: dict[str, list[str]] = {}

    def check(name: str) -> None:
        page.screenshot(path=str(shots / f"{name}-{width}-{scheme}.png"), full_page=True)
        failures = problems(axe.run(page).response)
        if width == "phone":
            failures += layout_problems(page)
        # On a phone the nav's links take two rows under the brand; on a desktop, one beside it.
        rows = header_rows(
            page,
            ".nav__link, .nav__button" if width == "phone" else ".brand, .nav__link, .nav__button",
        )
        if rows > (2 if width == "phone" else 1):
            failures.append(f"the header takes {rows} rows")
        if failures:
            found[name] = failures

    for name, path, status in pages:
        response = page.goto(server.url(path))
        assert response is not None and response.status == status, (path, response)
        if path in DRAWN_BY_SCRIPT:
            expect(page.locator(DRAWN_BY_SCRIPT[path]).first).to_be_visible()
        check(name)

    # A token was just made: the tokens page shows it, and the table beside it.
    page.goto(server.url("/account/tokens"))
    page.fill("#label", f"a11y {width} {scheme}")
    page.get_by_role("button", name="Create token").click()
    expect(page.locator("#new-token")).to_have_value(re.compile(r"^pp_"))
    check("tokens-new")

    # A statement's preview: the form as typed, and the statement rendered below it.
    page.goto(server.url("/problems/new"))
    page.fill("#name", f"Preview {width} {scheme}")
    page.fill("#statement", STATEMENT + "\n| a | b |\n|---|---|\n| 1 | 2 |\n")
    page.get_by_role("button", name="Preview").click()
    expect(page.locator("#preview .prose")).to_be_visible()
    check("preview")

    context.clear_cookies()
    for name, path, status in signed_out:
        response = page.goto(server.url(path))
        assert response is not None and response.status == status, (path, response)
        check(name)
    expire_csrf_token(page, server)
    expect(page.locator("main")).to_contain_text("This form has expired")
    check("csrf-expired")
    context.close()

    assert found == {}, "\n".join(f"{name}: {failure}" for name in found for failure in found[name])
    assert [url for url in not_found if not url.endswith("/no-such-page")] == []


@pytest.mark.parametrize("scheme", SCHEMES)
def test_the_focus_ring_stands_out_from_what_is_around_it(
    server: LiveServer, browser: Browser, scheme: str
) -> None:
    """WCAG 1.4.11: the outline contrasts 3:1 with the colour behind it, in header and page."""
    context = browser.new_context(color_scheme=scheme)  # type: ignore[arg-type]
    page = context.new_page()
    page.goto(server.url("/login"))
    ratios = {}
    for selector in (".brand", "main a", "#name", ".site-footer a", "main button"):
        page.locator(selector).first.focus()
        page.keyboard.press("Shift+Tab")
        page.keyboard.press("Tab")  # focus by keyboard, so :focus-visible applies
        ratios[selector] = page.evaluate(CONTRAST_OF_FOCUSED)
    context.close()
    assert {s: r for s, r in ratios.items() if r < 3} == {}, ratios


CONTRAST_OF_FOCUSED = """() => {
  const el = document.activeElement;
  const style = getComputedStyle(el);
  if (style.outlineStyle === "none" || parseFloat(style.outlineWidth) < 2) return 0;
  const rgb = (text) => text.match(/[\\d.]+/g).map(Number);
  const luminance = ([r, g, b]) => {
    const c = [r, g, b].map((v) => {
      v /= 255;
      return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4);
    });
    return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2];
  };
  let node = el.parentElement;
  let behind = null;
  while (node) {
    const bg = getComputedStyle(node).backgroundColor;
    const parts = rgb(bg);
    if (parts.length < 4 || parts[3] > 0) { behind = parts; break; }
    node = node.parentElement;
  }
  behind = behind || [255, 255, 255];
  const a = luminance(rgb(style.outlineColor)), b = luminance(behind);
  return (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
}"""
