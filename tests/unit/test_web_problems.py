"""The problem pages and their form actions (test client, CSRF on)."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient

from practice_app import services
from practice_app.extensions import db
from practice_app.models import Problem
from tests.support.auth import bearer
from tests.support.forms import (
    csrf_token,
    field_errors,
    flashes,
    input_value,
    post_form,
    sign_in,
)


def count_problems(app: Flask) -> int:
    with app.app_context():
        return db.session.query(Problem).count()


def problem_fields(app: Flask, problem_id: int) -> dict[str, object]:
    with app.app_context():
        problem = services.get_problem(problem_id)
        return {
            "name": problem.name,
            "difficulty": problem.difficulty,
            "tags": [row.tag for row in problem.tag_rows],
            "statement": problem.statement,
            "author": problem.author.name,
        }


# -- pages -------------------------------------------------------------------------


def test_list_shows_problems_with_a_search_box(
    client: FlaskClient, make_user: Callable[..., int], make_problem: Callable[..., int]
) -> None:
    make_user("alice")
    make_problem(name="Two Sum", difficulty="easy", tags=["arrays"])
    make_problem(name="Word Ladder", difficulty="hard")
    response = client.get("/")
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    html = response.text
    assert "Two Sum" in html and "Word Ladder" in html
    assert re.search(r'<input[^>]*type="search"[^>]*name="q"', html)
    assert '<label class="field__label" for="q">' in html
    # pages carry the session's user: never stored
    assert "X-Cache" not in response.headers
    assert response.headers["Cache-Control"].startswith("private, no-cache, no-store")


def test_search_by_name_difficulty_and_tag(
    client: FlaskClient, make_user: Callable[..., int], make_problem: Callable[..., int]
) -> None:
    make_user("alice")
    make_problem(name="Two Sum", difficulty="easy", tags=["arrays"])
    make_problem(name="Three Sum", difficulty="medium", tags=["arrays", "two-pointers"])
    make_problem(name="Word Ladder", difficulty="hard", tags=["graphs"])

    html = client.get("/?q=sum").text
    assert "Two Sum" in html and "Three Sum" in html and "Word Ladder" not in html
    assert 'value="sum"' in html  # the query stays in the box
    assert "2 problems match." in html

    html = client.get("/?q=SUM&difficulty=easy").text
    assert "Two Sum" in html and "Three Sum" not in html

    html = client.get("/?tag=two-pointers").text
    assert "Three Sum" in html and "Two Sum" not in html

    html = client.get("/?q=nothing-like-this").text
    assert html.count("No problems match") == 1  # said once, not twice in other words
    assert "Nothing matches" not in html

    # Tags as the pages show them: #two-pointers finds two-pointers.
    html = client.get("/?tag=%23two-pointers").text
    assert "Three Sum" in html and "Two Sum" not in html
    assert 'value="two-pointers"' in html


def test_list_pages_with_limit_and_offset(
    client: FlaskClient, make_user: Callable[..., int], make_problem: Callable[..., int]
) -> None:
    make_user("alice")
    for number in range(1, 8):
        make_problem(name=f"Puzzle {number:02d}")
    html = client.get("/?limit=3").text
    assert "Showing 1–3 of 7 problems: page 1 of 3." in html  # noqa: RUF001 - the page's en dash
    assert "Page 1 of 3" in html
    # newest first: a problem just made is on the first page
    assert re.findall(r"Puzzle \d\d", html) == ["Puzzle 07", "Puzzle 06", "Puzzle 05"]
    following = re.search(r'rel="next" href="([^"]+)"', html)
    assert following and "offset=3" in following.group(1)
    html = client.get(following.group(1).replace("&amp;", "&")).text
    assert re.findall(r"Puzzle \d\d", html) == ["Puzzle 04", "Puzzle 03", "Puzzle 02"]
    assert 'rel="prev"' in html
    html = client.get("/?limit=3&offset=6").text
    assert re.findall(r"Puzzle \d\d", html) == ["Puzzle 01"]
    assert "Page 3 of 3" in html
    # nonsense numbers fall back to the defaults instead of failing
    assert client.get("/?limit=abc&offset=-4").status_code == 200
    past = client.get("/?limit=3&offset=30").text
    assert "This page is past the end: there are 7 problems." in past
    assert 'rel="prev" href="/?limit=3&amp;offset=27"' in past


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("newest", ["Cherry", "apple", "Banana"]),
        ("oldest", ["Banana", "apple", "Cherry"]),
        ("name", ["apple", "Banana", "Cherry"]),
        ("difficulty", ["Cherry", "Banana", "apple"]),
        ("sideways", ["Cherry", "apple", "Banana"]),  # unknown: the default, newest
    ],
)
def test_the_list_sorts_by_newest_oldest_name_or_difficulty(
    client: FlaskClient,
    make_user: Callable[..., int],
    make_problem: Callable[..., int],
    sort: str,
    expected: list[str],
) -> None:
    make_user("alice")
    make_problem(name="Banana", difficulty="medium")
    make_problem(name="apple", difficulty="hard")
    make_problem(name="Cherry", difficulty="easy")
    html = client.get(f"/?sort={sort}", follow_redirects=True).text  # newest: redirected to /
    assert re.findall(r">(apple|Banana|Cherry)</a>", html) == expected
    shown = "newest" if sort == "sideways" else sort
    assert f'<option value="{shown}" selected>' in html


def test_a_sorted_page_links_keep_the_sort(
    client: FlaskClient, make_user: Callable[..., int], make_problem: Callable[..., int]
) -> None:
    make_user("alice")
    for number in range(1, 5):
        make_problem(name=f"Puzzle {number:02d}")
    html = client.get("/?sort=name&limit=2").text
    assert re.findall(r"Puzzle \d\d", html) == ["Puzzle 01", "Puzzle 02"]
    following = re.search(r'rel="next" href="([^"]+)"', html)
    assert following and "sort=name" in following.group(1)
    html = client.get(following.group(1).replace("&amp;", "&")).text
    assert re.findall(r"Puzzle \d\d", html) == ["Puzzle 03", "Puzzle 04"]


def test_detail_shows_statement_tags_author_and_dates(
    client: FlaskClient, make_user: Callable[..., int], make_problem: Callable[..., int]
) -> None:
    make_user("alice")
    problem_id = make_problem(
        name="Two Sum", tags=["arrays", "hashing"], statement="Find **two** numbers.\n\n- a\n- b"
    )
    response = client.get(f"/problems/{problem_id}")
    assert response.status_code == 200
    html = response.text
    assert "<h1>Two Sum</h1>" in html
    assert "<strong>two</strong>" in html and "<li>a</li>" in html
    assert "#arrays" in html and "#hashing" in html
    assert "<strong>alice</strong>" in html
    assert re.search(r'<time datetime="\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ">', html)
    # a visitor sees no edit or delete controls
    assert "Edit problem" not in html and "/delete" not in html


def test_detail_of_a_missing_problem_is_a_404_page(client: FlaskClient) -> None:
    for path in ("/problems/999", "/problems/abc", "/problems/99999999999999999999999"):
        response = client.get(path)
        assert response.status_code == 404
        assert response.mimetype == "text/html"
        assert "Problem not found" in response.text
        assert 'class="site-header"' in response.text  # in the site's layout


def test_the_author_sees_edit_and_delete_controls(
    alice: FlaskClient, make_problem: Callable[..., int]
) -> None:
    problem_id = make_problem(name="Mine")
    html = alice.get(f"/problems/{problem_id}").text
    assert f'href="/problems/{problem_id}/edit"' in html
    assert re.search(rf'<form[^>]*method="post" action="/problems/{problem_id}/delete"', html)


def test_pages_load_one_local_deferred_script_and_no_inline_script(client: FlaskClient) -> None:
    with client.get("/static/favicon.svg") as icon:
        assert icon.status_code == 200 and icon.mimetype == "image/svg+xml"
    for path in ("/", "/login", "/compare"):
        html = client.get(path).text
        scripts = re.findall(r"<script\b[^>]*>", html)
        assert scripts == ['<script src="/static/app.js" defer>'], scripts
        assert "<style" not in html
        links = re.findall(r'<link[^>]*href="([^"]+)"', html)
        assert links == ["/static/favicon.svg", "/static/palette.css", "/static/app.css"]


# -- create -------------------------------------------------------------------------


def test_new_needs_a_signed_in_user(client: FlaskClient) -> None:
    response = client.get("/problems/new")
    assert response.status_code in (302, 303)
    assert response.headers["Location"] == "/login?next=/problems/new"


def test_create_redirects_303_to_the_problem_with_a_flash(app: Flask, alice: FlaskClient) -> None:
    response = post_form(
        alice,
        "/problems/new",
        {
            "name": "  Two Sum ",
            "difficulty": "easy",
            "tags": "Arrays, hashing, arrays,",
            "statement": "Line one\r\nLine two",
        },
        page="/problems/new",
    )
    assert response.status_code == 303
    location = response.headers["Location"]
    match = re.fullmatch(r"/problems/(\d+)", location)
    assert match
    page = alice.get(location)
    assert "Created “Two Sum”." in flashes(page.text)
    assert problem_fields(app, int(match.group(1))) == {
        "name": "Two Sum",
        "difficulty": "easy",
        "tags": ["arrays", "hashing"],
        "statement": "Line one\nLine two",
        "author": "alice",
    }
    # the flash is shown once
    assert flashes(alice.get(location).text) == []


def test_create_with_invalid_fields_is_422_with_errors_beside_fields_and_values_kept(
    app: Flask, alice: FlaskClient
) -> None:
    typed = {
        "name": "",
        "difficulty": "hard",
        "tags": "good, Not Good!",
        "statement": "My *draft* <b>statement</b>",
    }
    response = post_form(alice, "/problems/new", typed, page="/problems/new")
    assert response.status_code == 422
    html = response.text
    assert field_errors(html, "name") == ["Enter a name."]
    assert field_errors(html, "tags") == ["Each tag is 1 to 30 characters of a-z, 0-9 and '-'."]
    assert field_errors(html, "statement") == []
    assert re.search(r'<input[^>]*aria-describedby="name-error"[^>]*aria-invalid="true"', html)
    assert input_value(html, "tags") == "good, Not Good!"
    assert input_value(html, "statement") == "My *draft* <b>statement</b>"
    assert re.search(r'<option selected value="hard">|<option value="hard" selected>', html)
    assert "Please check the form" in html
    assert count_problems(app) == 0


def test_create_with_a_duplicate_name_shows_the_error_beside_the_name(
    app: Flask, alice: FlaskClient, make_problem: Callable[..., int]
) -> None:
    make_problem(name="Two Sum")
    response = post_form(
        alice, "/problems/new", {"name": "two SUM", "statement": "kept"}, page="/problems/new"
    )
    assert response.status_code == 422
    assert field_errors(response.text, "name") == ["A problem with this name already exists."]
    assert input_value(response.text, "name") == "two SUM"
    assert input_value(response.text, "statement") == "kept"
    assert count_problems(app) == 1


def test_too_many_tags_and_an_unknown_difficulty_are_422(alice: FlaskClient) -> None:
    tags = ", ".join(f"t{n}" for n in range(11))
    response = post_form(
        alice,
        "/problems/new",
        {"name": "X", "difficulty": "extreme", "tags": tags},
        page="/problems/new",
    )
    assert response.status_code == 422
    assert field_errors(response.text, "tags") == ["At most 10 tags."]
    assert field_errors(response.text, "difficulty")


def test_create_without_csrf_is_400_and_writes_nothing(app: Flask, alice: FlaskClient) -> None:
    response = alice.post("/problems/new", data={"name": "Sneaky"})
    assert response.status_code == 400
    assert response.mimetype == "text/html"
    assert "form has expired" in response.text
    wrong = alice.post("/problems/new", data={"name": "Sneaky", "csrf_token": "not-a-token"})
    assert wrong.status_code == 400
    assert count_problems(app) == 0


def test_a_token_from_another_session_is_refused(
    app: Flask, alice: FlaskClient, make_user: Callable[..., int]
) -> None:
    other = app.test_client()
    foreign = csrf_token(other, "/login")
    response = alice.post("/problems/new", data={"name": "Sneaky", "csrf_token": foreign})
    assert response.status_code == 400
    assert count_problems(app) == 0


def test_create_invalidates_the_cached_api_list(app: Flask, alice: FlaskClient) -> None:
    assert alice.get("/api/problems").get_json() == []
    assert alice.get("/api/problems").headers["X-Cache"] == "HIT"
    post_form(alice, "/problems/new", {"name": "Fresh"}, page="/problems/new")
    listed = alice.get("/api/problems")
    assert [p["name"] for p in listed.get_json()] == ["Fresh"]
    assert listed.headers["X-Cache"] == "MISS"


# -- edit ---------------------------------------------------------------------------


def test_edit_form_is_filled_and_saves_with_303_and_flash(
    app: Flask, alice: FlaskClient, make_problem: Callable[..., int]
) -> None:
    problem_id = make_problem(name="Old", difficulty="easy", tags=["a", "b"], statement="S")
    page = alice.get(f"/problems/{problem_id}/edit")
    assert page.status_code == 200
    assert input_value(page.text, "name") == "Old"
    assert input_value(page.text, "tags") == "a, b"
    assert input_value(page.text, "statement") == "S"

    response = post_form(
        alice,
        f"/problems/{problem_id}/edit",
        {"name": "New", "difficulty": "hard", "tags": "c", "statement": "T"},
        page=f"/problems/{problem_id}/edit",
    )
    assert response.status_code == 303
    assert response.headers["Location"] == f"/problems/{problem_id}"
    assert "Saved “New”." in flashes(alice.get(response.headers["Location"]).text)
    fields = problem_fields(app, problem_id)
    assert fields["name"] == "New" and fields["difficulty"] == "hard"
    assert fields["tags"] == ["c"] and fields["statement"] == "T"


def test_edit_to_a_taken_name_is_422_beside_the_name(
    app: Flask, alice: FlaskClient, make_problem: Callable[..., int]
) -> None:
    make_problem(name="Taken")
    problem_id = make_problem(name="Mine")
    response = post_form(
        alice,
        f"/problems/{problem_id}/edit",
        {"name": "TAKEN", "difficulty": "medium", "tags": "", "statement": "typed"},
        page=f"/problems/{problem_id}/edit",
    )
    assert response.status_code == 422
    assert field_errors(response.text, "name") == ["A problem with this name already exists."]
    assert input_value(response.text, "statement") == "typed"
    assert problem_fields(app, problem_id)["name"] == "Mine"


def test_someone_else_cannot_edit_or_delete(
    app: Flask,
    client: FlaskClient,
    make_user: Callable[..., int],
    make_problem: Callable[..., int],
) -> None:
    make_user("alice")
    make_user("bob")
    problem_id = make_problem("alice", name="Alice's")
    sign_in(client, "bob")
    assert client.get(f"/problems/{problem_id}/edit").status_code == 403
    edit = post_form(client, f"/problems/{problem_id}/edit", {"name": "Bob's"})
    assert edit.status_code == 403
    assert edit.mimetype == "text/html"
    assert "Only its author or an admin" in edit.text
    delete = post_form(client, f"/problems/{problem_id}/delete", {})
    assert delete.status_code == 403
    assert problem_fields(app, problem_id)["name"] == "Alice's"
    assert "Edit problem" not in client.get(f"/problems/{problem_id}").text


def test_an_admin_may_edit_anyones_problem(
    app: Flask,
    client: FlaskClient,
    make_user: Callable[..., int],
    make_problem: Callable[..., int],
) -> None:
    make_user("alice")
    make_user("root", admin=True)
    problem_id = make_problem("alice", name="Alice's")
    sign_in(client, "root")
    response = post_form(
        client,
        f"/problems/{problem_id}/edit",
        {"name": "Fixed", "difficulty": "medium"},
        page=f"/problems/{problem_id}/edit",
    )
    assert response.status_code == 303
    assert problem_fields(app, problem_id)["name"] == "Fixed"
    assert problem_fields(app, problem_id)["author"] == "alice"


def test_edit_and_delete_send_a_visitor_to_sign_in(
    client: FlaskClient, make_user: Callable[..., int], make_problem: Callable[..., int]
) -> None:
    make_user("alice")
    problem_id = make_problem(name="P")
    response = client.get(f"/problems/{problem_id}/edit")
    assert response.status_code == 303
    assert response.headers["Location"] == f"/login?next=/problems/{problem_id}/edit"
    # a POST comes back to the page it was sent from, not to a URL that has no GET
    token = csrf_token(client, "/login")
    response = client.post(
        f"/problems/{problem_id}/delete",
        data={"csrf_token": token},
        headers={"Referer": f"http://localhost/problems/{problem_id}"},
    )
    assert response.status_code == 303
    assert response.headers["Location"] == f"/login?next=/problems/{problem_id}"


# -- delete -------------------------------------------------------------------------


def test_delete_is_post_only_and_redirects_to_the_list(
    app: Flask, alice: FlaskClient, make_problem: Callable[..., int]
) -> None:
    problem_id = make_problem(name="Doomed")
    assert alice.get(f"/problems/{problem_id}/delete").status_code == 405
    response = post_form(
        alice, f"/problems/{problem_id}/delete", {}, page=f"/problems/{problem_id}"
    )
    assert response.status_code == 303
    assert response.headers["Location"] == "/"
    assert "Deleted “Doomed”." in flashes(alice.get("/").text)
    assert count_problems(app) == 0
    assert alice.get(f"/problems/{problem_id}").status_code == 404


def test_delete_without_csrf_is_400_and_keeps_the_problem(
    app: Flask, alice: FlaskClient, make_problem: Callable[..., int]
) -> None:
    problem_id = make_problem(name="Safe")
    response = alice.post(f"/problems/{problem_id}/delete")
    assert response.status_code == 400
    assert "form has expired" in response.text
    assert count_problems(app) == 1


# -- Markdown made harmless ---------------------------------------------------------------


def test_a_statement_with_html_and_script_is_rendered_harmless(
    alice: FlaskClient, make_token: Callable[[str], str]
) -> None:
    statement = (
        "# Title\n\n"
        "<script>alert(1)</script>\n\n"
        "<img src=x onerror=alert(1)>\n\n"
        "[x](javascript:alert(1)) and [ok](https://example.com)\n\n"
        '<a href="javascript:alert(2)" onclick="alert(3)">raw</a>\n'
    )
    created = alice.post(
        "/api/problems",
        json={"name": "Hostile", "statement": statement},
        headers=bearer(make_token("alice")),
    )
    assert created.status_code == 201
    html = alice.get(f"/problems/{created.get_json()['id']}").text
    prose = html.split('<div class="prose">', 1)[1].split("</div>", 1)[0]
    assert "<script" not in prose.lower()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in prose
    for tag in re.findall(r"<[a-zA-Z][^>]*>", prose):
        assert not re.search(r"\son\w+\s*=", tag, re.I), tag
        assert "javascript:" not in tag.lower(), tag
    assert "&lt;img src=x onerror=alert(1)&gt;" in prose
    assert '<a href="https://example.com" rel="nofollow noopener noreferrer">ok</a>' in prose
    assert "<h2>Title</h2>" in prose  # headings sit under the page's own <h1>


def test_a_search_without_its_empty_fields(client: FlaskClient) -> None:
    """The search form sends empty fields; the address is cleaned of them (JavaScript off)."""
    response = client.get("/?q=tree&difficulty=&tag=")
    assert response.status_code == 302
    assert response.headers["Location"] == "/?q=tree"
    response = client.get("/?q=&difficulty=&tag=")
    assert response.status_code == 302 and response.headers["Location"] == "/"
    assert client.get("/?q=tree&difficulty=easy").status_code == 200


def test_a_new_problem_is_first_in_the_list(
    client: FlaskClient, make_user: Callable[..., int], make_problem: Callable[..., int]
) -> None:
    make_user("alice")
    for number in range(1, 26):
        make_problem(name=f"Puzzle {number:02d}")
    html = client.get("/").text
    assert re.findall(r"Puzzle \d\d", html)[0] == "Puzzle 25"
    assert "Puzzle 05" not in html  # twenty a page: the oldest five are on page 2


def test_the_edit_page_names_the_problem(
    alice: FlaskClient, make_problem: Callable[..., int]
) -> None:
    problem_id = make_problem(name="Two <Sum>")
    html = alice.get(f"/problems/{problem_id}/edit").text
    assert "<h1>Edit “Two &lt;Sum&gt;”</h1>" in html
    assert "<title>Edit “Two &lt;Sum&gt;” · Practice Problems</title>" in html


def test_a_statement_outline_skips_no_level_and_its_code_scrolls_by_keyboard(
    client: FlaskClient, make_user: Callable[..., int], make_problem: Callable[..., int]
) -> None:
    make_user("alice")
    statement = "### Example 1\n\n```\nx\n```\n\n##### Note\n\n# Part\n\n```\ny\n```\n"
    html = client.get(f"/problems/{make_problem(statement=statement)}").text
    prose = html.split('<div class="prose">', 1)[1].split("</div>", 1)[0]
    assert re.findall(r"<(h\d)>([^<]*)<", prose) == [
        ("h2", "Example 1"),
        ("h3", "Note"),
        ("h2", "Part"),
    ]
    assert re.findall(r"<pre[^>]*>", prose) == [
        '<pre tabindex="0" role="region" aria-label="Code block 1">',
        '<pre tabindex="0" role="region" aria-label="Code block 2">',
    ]


def test_a_statement_table_scrolls_in_its_own_region(
    client: FlaskClient, make_user: Callable[..., int], make_problem: Callable[..., int]
) -> None:
    make_user("alice")
    wide = "| " + " | ".join(f"column{n}" for n in range(30)) + " |\n"
    rule = "|" + "---|" * 30 + "\n"
    statement = f"{wide}{rule}{wide}\n\nand\n\n| a |\n|---|\n| b |\n"
    html = client.get(f"/problems/{make_problem(statement=statement)}").text
    assert re.findall(r'<div class="table-scroll"[^>]*><table>', html) == [
        '<div class="table-scroll" tabindex="0" role="region" aria-label="Table 1"><table>',
        '<div class="table-scroll" tabindex="0" role="region" aria-label="Table 2"><table>',
    ]
    assert html.count("</table></div>") == 2


def test_preview_renders_the_statement_keeps_what_was_typed_and_saves_nothing(
    client: FlaskClient, make_user: Callable[..., int], make_problem: Callable[..., int]
) -> None:
    make_user("alice")
    sign_in(client)
    typed = {
        "name": "Draft <b>",
        "difficulty": "hard",
        "tags": "graphs",
        "statement": "# Goal\n\n**Find** it.\n\n<script>alert(1)</script>",
        "preview": "1",
    }
    before = client.get("/api/problems").get_json()
    page = post_form(client, "/problems/new", typed, page="/problems/new")
    assert page.status_code == 200
    html = page.text
    assert 'id="preview"' in html and "<strong>Find</strong>" in html
    assert "<script>alert(1)</script>" not in html  # raw HTML shows as text, never runs
    assert input_value(html, "name") == "Draft <b>"
    assert input_value(html, "tags") == "graphs"
    assert "# Goal" in (input_value(html, "statement") or "")
    assert '<option selected value="hard">' in html or '<option value="hard" selected>' in html
    assert client.get("/api/problems").get_json() == before  # nothing saved

    problem_id = make_problem(name="Kept", statement="old")
    edit = post_form(
        client,
        f"/problems/{problem_id}/edit",
        {"name": "Kept", "difficulty": "easy", "tags": "", "statement": "*new*", "preview": "1"},
        page=f"/problems/{problem_id}/edit",
    )
    assert edit.status_code == 200 and "<em>new</em>" in edit.text
    assert client.get(f"/api/problems/{problem_id}").get_json()["statement"] == "old"


def test_the_statement_hint_says_what_markdown_allows(
    client: FlaskClient, make_user: Callable[..., int]
) -> None:
    make_user("alice")
    sign_in(client)
    html = client.get("/problems/new").text
    assert "HTML tags are shown as text, never run." in html
