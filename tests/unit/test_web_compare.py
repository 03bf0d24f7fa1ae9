"""The comparison page, and the error pages in the site's layout (test client)."""

from __future__ import annotations

import re
from collections.abc import Callable
from html import unescape

import pytest
from flask import Flask, request
from flask.testing import FlaskClient
from flask_caching import Cache

from devservers.processes import ROOT
from practice_app import caching
from practice_app.web.compare import SAMPLES
from tests.support.auth import bearer
from tests.support.clock import Clock

SEARCH = "/api/search?q=tree"


def live_values(html: str) -> dict[str, dict[str, str]]:
    """The server-rendered live panel: {url: {field: text}}."""
    cards = {}
    for url, body in re.findall(r'data-live-url="([^"]+)"(.*?)</article>', html, re.S):
        cells = re.findall(r'data-live="([\w-]+)">(.*?)</dd>', body, re.S)
        cards[unescape(url)] = {name: re.sub(r"<[^>]+>", "", text).strip() for name, text in cells}
    return cards


def page_text(html: str) -> str:
    """The page's text, tags dropped and whitespace folded."""
    return " ".join(unescape(re.sub(r"<[^>]+>", "", html)).split())


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


def test_the_nextjs_code_is_framed_honestly(client: FlaskClient) -> None:
    text = page_text(client.get("/compare").text)
    for phrase in (
        "written as a Next.js developer would write it, following Next.js's documentation for the "
        "version each block names",
        "it is not copied from a running app",
        "Tried with Next.js 14.2.35",
        "This app's code is read from its own source files when this page is rendered",
    ):
        assert phrase in text, phrase


def test_the_page_names_no_file_a_visitor_cannot_open(client: FlaskClient) -> None:
    html = client.get("/compare").text
    # No path out of the project ("../" and a folder beside it), nor the desk's files.
    assert not re.search(r"\.\./[a-z]", html)
    for name in ("nextjs-ref", "PROBE.md", "reference app"):
        assert name not in html, name
    # The project's docs are named as text, never linked: the running app does not serve them.
    assert "<code>docs/route-cache.md</code> in the project's documentation" in html
    hrefs = re.findall(r'href="([^"]+)"', html)
    assert not [href for href in hrefs if ".md" in href or href.startswith(("docs/", "../"))]
    # Every Next.js claim links Next.js's own public documentation (or React's, for its hooks).
    external = {href for href in hrefs if href.startswith("http")}
    assert external, hrefs
    for href in external:
        assert href.startswith(
            (
                "https://nextjs.org/docs/",
                "https://nextjs.org/blog/",
                "https://github.com/vercel/next.js/",
                "https://react.dev/reference/",
                "https://flask-caching.readthedocs.io/",
            )
        ), href


def test_the_form_actions_that_show_no_form_answer_405(
    alice: FlaskClient, make_problem: Callable[..., int]
) -> None:
    """What the page says of GET on an action's URL is true."""
    problem = make_problem("alice")
    text = page_text(alice.get("/compare").text)
    assert (
        "A GET of /problems/new, /problems/ID/edit, /login, /register or /account/tokens shows "
        "its form" in text
    )
    assert (
        "A GET of /logout, /problems/ID/delete or /account/tokens/ID/revoke answers 405, its "
        "Allow header naming POST (and OPTIONS)" in text
    )
    for path in ("/problems/new", f"/problems/{problem}/edit", "/account/tokens"):
        response = alice.get(path)
        assert response.status_code == 200, path
        assert 'name="csrf_token"' in response.text, path
    for path in ("/logout", f"/problems/{problem}/delete", "/account/tokens/1/revoke"):
        response = alice.get(path)
        assert response.status_code == 405, path
        assert set(response.headers["Allow"].split(", ")) == {"POST", "OPTIONS"}, path


def test_the_public_form_pages_show_their_forms(client: FlaskClient) -> None:
    for path in ("/login", "/register"):
        response = client.get(path)
        assert response.status_code == 200, path
        assert 'name="csrf_token"' in response.text, path


def test_the_page_explains_how_each_door_is_protected(client: FlaskClient) -> None:
    html = client.get("/compare").text
    assert 'id="security"' in html
    text = page_text(html)
    for phrase in (
        # Next.js
        "Server Actions can be invoked only with POST",
        "compares the host in the request's Origin header with the Host header "
        "(or X-Forwarded-Host, when a proxy sets it); when they differ, the action is aborted",
        "experimental.serverActions.allowedOrigins",
        # this app
        "A form action is an ordinary URL",
        "ties the post to such a page",
        "as defence in depth",
        "403 (“This form was sent from another site”), nothing written, even with a valid token",
        "A POST without Origin (an old browser, a script) is still accepted: the token decides",
        # where Server Actions post, and where these do
        "A Server Action has none: its form posts to the URL of the page it is on",
        "Next-Action",
        "$ACTION_ID_",
    ):
        assert phrase in text, phrase
    assert (
        "raise NotAllowed(OTHER_ORIGIN)"
        in code_blocks(html)["This app: refuse_other_origins in practice_app/security.py"]
    )


def test_build_time_static_is_next_build_here_flask_cache_warm(client: FlaskClient) -> None:
    text = page_text(client.get("/compare").text)
    for phrase in (
        "Next.js renders a static route at build time: next build runs it once",
        "a static view is rendered by its first request (X-Cache: MISS)",
        "or at deploy, by flask cache warm",
        "make run runs it after migrating",
    ):
        assert phrase in text, phrase


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
        SEARCH,
    }
    assert first["/api/clock/static"]["x-cache"] == "MISS"
    assert first["/api/clock/static"]["cache-control"] == "public, no-cache"
    assert first["/api/clock/revalidate"]["cache-control"] == "public, no-cache"
    assert first["/api/clock/dynamic"]["x-cache"] == "none"
    assert first["/api/clock/dynamic"]["cache-control"].startswith("private, no-cache, no-store")
    assert first["/api/problems"]["value"] == "2 problems"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT[\d:.]+Z", first["/api/clock/static"]["value"])
    assert re.fullmatch(r"[\d.]+ ms", first["/api/clock/dynamic"]["ms"])
    assert "x-data-cache" not in first["/api/problems"]

    second = live_values(client.get("/compare").text)
    assert second["/api/clock/static"]["x-cache"] == "HIT"
    assert second["/api/clock/static"]["value"] == first["/api/clock/static"]["value"]
    assert second["/api/problems"]["x-cache"] == "HIT"
    assert second["/api/clock/dynamic"]["value"] != first["/api/clock/dynamic"]["value"]


def test_the_search_card_shows_the_data_cache(
    client: FlaskClient, make_user: Callable[..., int], make_token: Callable[[str], str]
) -> None:
    """GET /api/search?q=tree through the app: MISS, then HIT; a write drops it."""
    make_user("alice")
    html = client.get("/compare").text
    assert (
        '<code>@cache_data(tags=("problems",), key=SearchQuery.key, '
        "depends=SearchQuery.data_tags)</code>" in unescape(html)
    )
    first = live_values(html)[SEARCH]
    assert (first["x-data-cache"], first["x-cache"], first["value"]) == (
        "MISS",
        "none",
        "0 problems",
    )
    assert first["cache-control"].startswith("private, no-cache, no-store")
    assert live_values(client.get("/compare").text)[SEARCH]["x-data-cache"] == "HIT"
    created = client.post(
        "/api/problems", json={"name": "Binary Tree Paths"}, headers=bearer(make_token("alice"))
    )
    assert created.status_code == 201
    after = live_values(client.get("/compare").text)[SEARCH]
    assert (after["x-data-cache"], after["value"]) == ("MISS", "1 problem")
    assert live_values(client.get("/compare").text)[SEARCH]["x-data-cache"] == "HIT"


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


def test_the_sections_fold_without_javascript(client: FlaskClient) -> None:
    """Each section is a <details> whose <summary> holds its h2; the first is open."""
    html = client.get("/compare").text
    folds = re.findall(
        r'<details class="fold"( open)?>\s*<summary class="fold__summary">'
        r'<h2 class="fold__title" id="([\w-]+)">',
        html,
    )
    assert len(folds) == html.count('<details class="fold"') >= 10
    assert [name for is_open, name in folds if is_open] == ["side-by-side"]
    assert folds[0] == (" open", "side-by-side")
    # The table of contents points at each section's heading, and at the live panel.
    toc = re.search(r'<nav class="toc" aria-label="On this page">(.*?)</nav>', html, re.S)
    assert toc
    targets = re.findall(r'href="#([\w-]+)"', toc.group(1))
    assert targets == [name for _, name in folds] + ["live"]
    assert html.count("<h1") == 1


def test_flask_caching_alone_is_told_honestly(client: FlaskClient) -> None:
    html = client.get("/compare").text
    assert '<h2 class="fold__title" id="flask-caching">With Flask-Caching alone</h2>' in html
    text = page_text(html)
    for phrase in (
        "this app uses it too, but only as the store",
        "lines of Python, docstrings included",
        "@cache.cached(timeout=300) keeps a view's return value under a key made from the path "
        '("view/" + request.path)',
        'cache.delete("view//api/problems") drops it',
        "@cache.memoize(timeout=300) keeps a function's result by the function and its arguments",
        "cache.delete_memoized(search) drops all of its results",
        "Every worker and machine serves what it cached after a write elsewhere, unless the writer "
        "deletes the exact keys by hand",
        "every query string shares one entry",
        "unless query_string=True",
        "Nothing is static by default, and nothing turns dynamic by what it reads",
        "No guarantee that a write, once acknowledged, is seen",
        "Deleting after the commit races a render that read the old rows just before it",
        "No ETag, no 304",
        "not one render per burst",
        "Versions in the database, bumped in the write's own transaction",
        "Observation of what the request read",
        "Canonical URLs",
        "One render per burst, and stale-while-revalidate",
        "The data cache",
        "docs/route-cache.md in the project's documentation (built with make docs)",
    ):
        assert phrase in text, phrase
    blocks = code_blocks(html)
    cached = blocks["Flask-Caching 2: app.py: @cache.cached() on a view"]
    memoize = blocks["Flask-Caching 2: app.py: @cache.memoize() on a function"]
    assert "@cache.cached(timeout=300)" in cached and 'cache.delete("view//api/problems")' in cached
    assert "@cache.memoize(timeout=300)" in memoize and "cache.delete_memoized(search)" in memoize
    for code in (cached, memoize):
        compile(code, "app.py", "exec")  # Python, as shown


def test_what_the_page_says_of_flask_caching_is_what_it_does() -> None:
    """@cache.cached() keys by request.path: query strings share an entry, spellings do not."""
    app = Flask(__name__)
    cache = Cache(app, config={"CACHE_TYPE": "SimpleCache"})
    renders: list[str] = []

    @app.get("/search")
    @cache.cached(timeout=300)
    def search() -> str:
        renders.append(request.full_path)
        return request.args["q"]

    @app.get("/search-by-query")
    @cache.cached(timeout=300, query_string=True)
    def search_by_query() -> str:
        return request.args["q"]

    @app.get("/problems/<int:problem_id>")
    @cache.cached(timeout=300)
    def problem(problem_id: int) -> str:
        renders.append(request.path)
        return str(problem_id)

    client = app.test_client()
    assert client.get("/search?q=tree").text == "tree"
    assert client.get("/search?q=heap").text == "tree"  # every query string, one entry
    assert client.get("/search-by-query?q=tree").text == "tree"
    assert client.get("/search-by-query?q=heap").text == "heap"
    client.get("/problems/7")
    client.get("/problems/007")  # another spelling: an entry of its own
    assert renders == ["/search?q=tree", "/problems/7", "/problems/007"]
    with app.test_request_context():
        cache.delete("view//problems/7")  # the writer's delete of "the" key...
    client.get("/problems/007")
    assert renders[-1] == "/problems/007" and len(renders) == 3  # ...leaves the other spelling


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
        unescape(label): unescape(re.sub(r"<[^>]+>", "", body))
        for label, body in re.findall(
            r'<pre class="code" tabindex="0" role="region" aria-label="([^"]+)">(.*?)</pre>',
            html,
            re.S,
        )
    }


def test_every_code_block_has_a_name_of_its_own(client: FlaskClient) -> None:
    html = client.get("/compare").text
    labels = re.findall(r'<pre class="code" tabindex="0" role="region" aria-label="([^"]+)">', html)
    assert len(labels) == len(set(labels)) == len(code_blocks(html)) > 20


def test_compare_shows_this_apps_real_code_beside_nextjs(client: FlaskClient) -> None:
    """Every excerpt of this app is its source, line for line, in order (``...`` for gaps)."""
    blocks = code_blocks(client.get("/compare").text)
    ours = {label: text for label, text in blocks.items() if " in practice_app/" in label}
    assert len(ours) == 14, list(blocks)
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
        # the lines the text talks about are shown, not left out
        "class ProblemList(MethodView):",
        '@cache_view("auto", tags=("problems",))',
        "@token_required",
        "@bp.arguments(ProblemInput())",
        "def post(self, fields: dict[str, Any]) -> Any:",
        "return current_app.json.response(documents.list_documents())",
        "problem = services.create_problem(g.api_user, fields)",
        "def problem_new() -> Any:",
        'return redirect(url_for("web.problem_detail", problem_id=problem.id), 303)',
        'return render_template("web/problem/form.html", form=form, problem=None), 422',
        "def create_problem(author: User, data: Mapping[str, Any]) -> Problem:",
        "invalidate_problem(problem.id, problem.name_key",
        "function busy(form, submitter, on) {",
        "attach_errors(form, err.details)",
        '@cache_view("force-dynamic")',
        "@cache_view(revalidate=300)",
        'invalidate_tag("problems", problem_id=problem_id)',
        '@cache_data(tags=("problems",), key=SearchQuery.key, depends=SearchQuery.data_tags)',
        "name_key(self.text.strip())",
        "raise NotAllowed(OTHER_ORIGIN)",
        'def warm(app: Flask | None = None, base_url: str = "http://localhost/") -> list[Warmed]:',
    ):
        assert line in shown, line


NEXT_IMPORTS = {
    "NextResponse": "next/server",
    "revalidatePath": "next/cache",
    "revalidateTag": "next/cache",
    "updateTag": "next/cache",
    "cacheTag": "next/cache",
    "cacheLife": "next/cache",
    "unstable_cache": "next/cache",
    "redirect": "next/navigation",
    "useFormStatus": "react-dom",
    "useFormState": "react-dom",
    "db": "@/lib/db",
}


@pytest.mark.parametrize(
    "name", [name for name, s in SAMPLES.items() if s.version.startswith("Next")]
)
def test_each_nextjs_block_is_valid_for_the_version_it_names(name: str) -> None:
    """Every name a block uses is imported from where that version has it; no newer API leaks in."""
    sample = SAMPLES[name]
    assert sample.version in ("Next.js 14", "Next.js 16"), sample.version
    code = re.sub(r"(^|\s)//.*$", "", sample.code, flags=re.M)  # the code, not its comments
    for used, module in NEXT_IMPORTS.items():
        if re.search(rf"\b{used}\(|\b{used}\.", code):
            imported = re.search(
                rf"import \{{[^}}]*\b{used}\b[^}}]*\}} from '{re.escape(module)}'", code
            )
            assert imported, (name, used, module)
    if sample.version == "Next.js 14":
        for newer in ("updateTag", "cacheTag", "cacheLife", "'use cache'", "useActionState"):
            assert newer not in code, (name, newer)
        assert not re.search(r"revalidateTag\([^)]*,", code), name  # one argument in 14
        assert sample.docs.startswith(("https://nextjs.org/docs/14/", "https://react.dev/"))
    else:
        assert "useFormState" not in code, name
        assert not re.search(r"revalidateTag\('[^']*'\)", code), name  # 16 wants a profile
        assert sample.docs.startswith("https://nextjs.org/docs/app/")
    if "'use cache'" in code:
        assert "cacheComponents: true" in sample.path, name


def test_compare_teaches_nextjs_since_14_and_on_demand_revalidation(client: FlaskClient) -> None:
    html = client.get("/compare").text
    blocks = code_blocks(html)
    nextjs = "\n".join(text for label, text in blocks.items() if label.startswith("Next.js"))
    for phrase in (
        "export async function GET()",
        "export async function POST(request: Request)",
        "'use server'",
        "revalidatePath('/api/problems')",
        "useFormStatus()",
        "useFormState(createProblem, initialState)",
        "export const dynamic = 'force-dynamic'",
        "export const dynamic = 'error'",
        "export const revalidate = 300",
        "next: { tags: ['problems'] }",
        "unstable_cache(",
        "'use cache'",
        "cacheTag('problems')",
        "cacheLife('hours')",
        "revalidateTag(tag, 'max')",
        "updateTag('problems')",
        "allowedOrigins:",
    ):
        assert phrase in nextjs, phrase
    text = page_text(html)
    for phrase in (
        "tags= is revalidateTag, not revalidatePath",
        "GET route handlers are no longer cached by default",
        "export const dynamic = 'force-static'",
        "useActionState",
        "const [state, formAction, pending] = useActionState(createProblem, initialState)",
        "422 Unprocessable Content with the form again",
        '@cache_view("error") is the same here',
        "raises StaticViewReadRequest",
        "unstable_cache(fn, keyParts, { tags, revalidate })",
        "X-Data-Cache: HIT",
        "POST /api/revalidate",
        '{"paths": [...], "tags": [...]}',
        "X-Webhook-Signature: sha256=HEX",
        'TIMESTAMP + "." + RAW BODY',
        "FLASK_REVALIDATE_SECRET",
        "more than 300 s away: 401",
        "services.invalidate_problem",
    ):
        assert phrase in text, phrase
    assert "X-Webhook-Signature: sha256=$SIG" in blocks["This app: POST /api/revalidate"]
