"""The comparison page, and the error pages in the site's layout (test client)."""

from __future__ import annotations

import re
from collections.abc import Callable
from html import unescape

from flask import Flask
from flask.testing import FlaskClient

from devservers.processes import ROOT
from practice_app import caching
from tests.support.auth import bearer
from tests.support.clock import Clock


def live_values(html: str) -> dict[str, dict[str, str]]:
    """The server-rendered live panel: {url: {field: text}}."""
    cards = {}
    for url, body in re.findall(r'data-live-url="([^"]+)"(.*?)</article>', html, re.S):
        cells = re.findall(r'data-live="([\w-]+)">(.*?)</dd>', body, re.S)
        cards[url] = {name: re.sub(r"<[^>]+>", "", text).strip() for name, text in cells}
    return cards


def test_compare_restates_the_comparison_for_this_app(client: FlaskClient) -> None:
    response = client.get("/compare")
    assert response.status_code == 200
    html = response.text
    for phrase in (
        "Purpose",
        "HTTP methods",
        "Called from",
        "Progressive enhancement",
        "Authorization: Bearer TOKEN",
        "session cookie",
        "CSRF",
        "Caching",
        "303 See Other",
        "When to use which",
        "api/routes.py",
        "web/problems.py",
        "caching.cache_view",
        "caching.RouteCache",
        "services.invalidate_problem",
        "flask_app.PracticeFlask",
        "A cacheable GET beside a POST on one URL",
        "in every worker",
        "405 with <code>Allow</code>",
        "JSON errors instead of an empty 500",
    ):
        assert phrase in html, phrase


def test_compare_renders_real_values_and_cache_headers_without_javascript(
    client: FlaskClient,
    make_user: Callable[..., int],
    make_problem: Callable[..., int],
) -> None:
    make_user("alice")
    make_problem(name="One")
    make_problem(name="Two")
    first = live_values(client.get("/compare").text)
    assert set(first) == {
        "/api/clock/static",
        "/api/clock/dynamic",
        "/api/clock/revalidate",
        "/api/problems",
    }
    assert first["/api/clock/static"]["x-cache"] == "MISS"
    assert first["/api/clock/static"]["cache-control"] == "public, no-cache"
    assert first["/api/clock/revalidate"]["cache-control"] == "public, no-cache"
    assert first["/api/clock/dynamic"]["x-cache"] == "none"
    assert first["/api/clock/dynamic"]["cache-control"].startswith("private, no-cache, no-store")
    assert first["/api/problems"]["value"] == "2 problems"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT[\d:.]+Z", first["/api/clock/static"]["value"])
    assert re.fullmatch(r"[\d.]+ ms", first["/api/clock/dynamic"]["ms"])

    second = live_values(client.get("/compare").text)
    assert second["/api/clock/static"]["x-cache"] == "HIT"
    assert second["/api/clock/static"]["value"] == first["/api/clock/static"]["value"]
    assert second["/api/problems"]["x-cache"] == "HIT"
    assert second["/api/clock/dynamic"]["value"] != first["/api/clock/dynamic"]["value"]


def test_compare_sees_a_change_made_through_the_api(
    client: FlaskClient, make_user: Callable[..., int], make_token: Callable[[str], str]
) -> None:
    make_user("alice")
    client.get("/compare")
    assert live_values(client.get("/compare").text)["/api/problems"]["x-cache"] == "HIT"
    client.post("/api/problems", json={"name": "New"}, headers=bearer(make_token("alice")))
    problems = live_values(client.get("/compare").text)["/api/problems"]
    assert problems["x-cache"] == "MISS"
    assert problems["value"] == "1 problem"


def test_the_live_panel_has_a_call_again_control_and_no_inline_script(client: FlaskClient) -> None:
    html = client.get("/compare").text
    assert re.search(
        r'<form[^>]*method="get" action="/compare#live">\s*'
        r'<button class="button" type="submit" data-call-again>Call again</button>',
        html,
    )
    assert "<script>" not in html and "onclick" not in html


def test_error_pages_use_the_site_layout(client: FlaskClient) -> None:
    for path, method, status in (
        ("/no-such-page", "GET", 404),
        ("/logout", "GET", 405),
        ("/problems/new", "PUT", 405),
    ):
        response = client.open(path, method=method)
        assert response.status_code == status
        assert response.mimetype == "text/html"
        assert 'class="site-header"' in response.text
        assert f"Error {status}" in response.text


def test_a_body_over_the_limit_is_a_413_page(client: FlaskClient) -> None:
    response = client.post("/login", data={"name": "x" * (1024 * 1024 + 10)})
    assert response.status_code == 413
    assert response.mimetype == "text/html"
    assert "Error 413" in response.text


def test_api_errors_stay_json(client: FlaskClient) -> None:
    response = client.post("/api/problems", json={"name": "x"})
    assert response.status_code == 401
    assert response.get_json() == {
        "error": "An API token is required: send Authorization: Bearer TOKEN."
    }
    missing = client.get("/api/nope")
    assert missing.status_code == 404
    assert missing.is_json


def test_the_panel_releases_the_revalidating_clocks_lock(make_app: Callable[..., Flask]) -> None:
    """The panel's own call of the revalidating clock runs its regeneration and unlocks it.

    It used to call the app through the test client and never close the
    response: the stale clock's regeneration never ran and its lock stayed
    taken, so every caller got STALE again and again.
    """
    clock = Clock()
    app = make_app(CACHE_CLOCK=clock)
    client = app.test_client()
    first = live_values(client.get("/compare").text)["/api/clock/revalidate"]
    assert first["x-cache"] == "MISS"
    clock.now += 301  # past revalidate=300
    stale = live_values(client.get("/compare").text)["/api/clock/revalidate"]
    assert (stale["x-cache"], stale["value"]) == ("STALE", first["value"])
    # The stale answer was followed by a new rendering, and the lock was released.
    store = caching.bound(app).store
    assert store.try_lock("/api/clock/revalidate")
    store.release("/api/clock/revalidate")
    fresh = live_values(client.get("/compare").text)["/api/clock/revalidate"]
    assert fresh["x-cache"] == "HIT"
    assert fresh["value"] != first["value"]


def code_blocks(html: str) -> dict[str, str]:
    """The page's code blocks: {accessible name: text}."""
    return {
        label: unescape(re.sub(r"<[^>]+>", "", body))
        for label, body in re.findall(
            r'<pre class="code" tabindex="0" role="region" aria-label="([^"]+)">(.*?)</pre>',
            html,
            re.S,
        )
    }


def test_compare_shows_this_apps_real_code_beside_nextjs(client: FlaskClient) -> None:
    """Every excerpt of this app is its source, line for line, in order (``...`` for gaps)."""
    blocks = code_blocks(client.get("/compare").text)
    ours = {label: text for label, text in blocks.items() if " in practice_app/" in label}
    assert len(ours) == 7, list(blocks)
    for label, text in ours.items():
        path = ROOT / label.split(" in ")[-1]
        source = [line.strip() for line in path.read_text(encoding="utf-8").splitlines()]
        position = 0
        for line in text.splitlines():
            if line.strip() == "...":
                continue
            assert line.strip() in source[position:], (label, line)
            position = source.index(line.strip(), position) + 1
    shown = "\n".join(ours.values())
    for line in (
        "class ProblemList(MethodView):",
        '@cache_view("auto", tags=("problems",))',
        "def post(self, fields: dict[str, Any]) -> Any:",
        "def problem_new() -> Any:",
        'return redirect(url_for("web.problem_detail", problem_id=problem.id), 303)',
        "def create_problem(author: User, data: Mapping[str, Any]) -> Problem:",
        "function busy(form, submitter, on) {",
        '@cache_view("force-dynamic")',
        "@cache_view(revalidate=300)",
        'invalidate_tag("problems", problem_id=problem_id)',
    ):
        assert line in shown, line


def test_compare_teaches_nextjs_since_14_and_on_demand_revalidation(client: FlaskClient) -> None:
    html = client.get("/compare").text
    nextjs = "\n".join(
        text for label, text in code_blocks(html).items() if label.startswith("Next.js")
    )
    for phrase in (
        "export async function GET()",
        "export async function POST(request: Request)",
        "'use server'",
        "revalidatePath('/api/problems')",
        "useFormStatus()",
        "export const dynamic = 'force-dynamic'",
        "export const revalidate = 300",
        "next: { tags: ['problems'] }",
        "'use cache'",
        "cacheTag('problems')",
        "revalidateTag('problems', 'max')",
        "updateTag('problems')",
    ):
        assert phrase in nextjs, phrase
    text = unescape(re.sub(r"<[^>]+>", "", html))
    for phrase in (
        "tags= is revalidateTag, not revalidatePath",
        "GET route handlers are no longer cached by default",
        "export const dynamic = 'force-static'",
        "POST /api/revalidate",
        '{"paths": [...], "tags": [...]}',
        "X-Webhook-Signature: sha256=HEX",
        'TIMESTAMP + "." + RAW BODY',
        "FLASK_REVALIDATE_SECRET",
        "more than 300 s away: 401",
        "services.invalidate_problem",
    ):
        assert phrase in text, phrase
    assert "X-Webhook-Signature: sha256=$SIG" in code_blocks(html)["This app: POST /api/revalidate"]
