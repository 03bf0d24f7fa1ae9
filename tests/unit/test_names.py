# ruff: noqa: RUF001, RUF003 - look-alike letters are what this module is about
"""Look-alike names: compared by NFKC casefold; invisible format characters, line and
paragraph separators, noncharacters and names that show nothing refused (API and form).
The migration that recomputes the keys of existing rows: e2e/test_names.py."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient

from practice_app.rules import name_key
from tests.support.auth import bearer
from tests.support.forms import field_errors, post_form, sign_in


def _create(client: FlaskClient, token: str, name: str) -> tuple[int, dict[str, object]]:
    response = client.post("/api/problems", json={"name": name}, headers=bearer(token))
    return response.status_code, response.get_json()


@pytest.mark.parametrize(
    "look_alike",
    [
        "Ｔｗｏ Ｓｕｍ",  # full-width on purpose
        "TWO SUM",
        "Two\u00a0Sum",  # no-break space: NFKC makes it a space
        "two sum",
    ],
)
def test_names_equal_under_nfkc_casefold_are_one_name(
    client: FlaskClient, token: str, look_alike: str
) -> None:
    assert _create(client, token, "Two Sum")[0] == 201
    status, body = _create(client, token, look_alike)
    assert status == 409, body
    assert body["details"] == {"name": ["A problem with this name already exists."]}


@pytest.mark.parametrize(
    ("name", "hidden"),
    [
        ("Two\u200bSum", "U+200B"),  # zero-width space
        ("Two Sum\u200b", "U+200B"),  # trailing: not trimmed, still refused
        ("\u202eTwo Sum", "U+202E"),  # right-to-left override
        ("Two\u2060Sum", "U+2060"),  # word joiner
        ("\ufeffTwo Sum", "U+FEFF"),  # byte order mark
        ("Two\u00adSum", "U+00AD"),  # soft hyphen
        ("Two Sum\U000e0041", "U+E0041"),  # a language tag, outside the BMP
    ],
)
def test_invisible_format_characters_in_a_name_are_422(
    client: FlaskClient, token: str, app: Flask, name: str, hidden: str
) -> None:
    status, body = _create(client, token, name)
    assert status == 422
    assert body["details"] == {
        "name": [
            f"Must not contain invisible format characters (zero-width or bidi controls): {hidden}."
        ]
    }
    assert client.get("/api/problems").get_json() == []


# Names that show nothing, or hide what they hold: refused with the rule they break.
HIDDEN_NAMES = [
    pytest.param("\u3164", "Must show at least one visible character.", id="hangul-filler"),
    pytest.param("\u2800", "Must show at least one visible character.", id="braille-blank"),
    pytest.param("\u0301\u0301", "Must show at least one visible character.", id="combining-only"),
    pytest.param("a\u2028b", "Must be a single line.", id="line-separator"),
    pytest.param("a\u2029b", "Must be a single line.", id="paragraph-separator"),
    pytest.param("a\ufffeb", "Must not contain noncharacters (U+FFFE).", id="noncharacter"),
]


@pytest.mark.parametrize(("name", "message"), HIDDEN_NAMES)
def test_a_name_that_shows_nothing_or_hides_a_break_is_422(
    client: FlaskClient, token: str, name: str, message: str
) -> None:
    status, body = _create(client, token, name)
    assert status == 422, body
    assert body["details"] == {"name": [message]}
    assert client.get("/api/problems").get_json() == []


@pytest.mark.parametrize(("name", "message"), HIDDEN_NAMES)
@pytest.mark.parametrize("method", ["PATCH", "PUT"])
def test_renaming_to_a_name_that_shows_nothing_is_422(
    client: FlaskClient, token: str, method: str, name: str, message: str
) -> None:
    status, body = _create(client, token, "Two Sum")
    assert status == 201
    url = f"/api/problems/{body['id']}"
    response = client.open(url, method=method, json={"name": name}, headers=bearer(token))
    assert response.status_code == 422
    assert response.get_json()["details"] == {"name": [message]}
    assert client.get(url).get_json()["name"] == "Two Sum"


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("\u3164\u2800 \u115f\uffa0", "Must show at least one visible character."),
        ("\u20dd", "Must show at least one visible character."),  # an enclosing mark (Me)
        ("\u0903", "Must show at least one visible character."),  # a spacing mark (Mc)
        ("\u3000\u0301", "Must show at least one visible character."),  # ideographic space
        ("\ufdd0", "Must not contain noncharacters (U+FDD0)."),
        ("Two\U0001fffeSum\U0010ffff", "Must not contain noncharacters (U+1FFFE, U+10FFFF)."),
    ],
)
def test_other_names_that_show_nothing_are_422(
    client: FlaskClient, token: str, name: str, message: str
) -> None:
    status, body = _create(client, token, name)
    assert status == 422, body
    assert body["details"] == {"name": [message]}


@pytest.mark.parametrize(
    "name", ["e\u0301", "\u0301e", "Ünïcödé", "两数之和", "🙂 Smile", "🙂", "한글", "⠁⠃"]
)
def test_a_name_that_shows_something_is_kept(client: FlaskClient, token: str, name: str) -> None:
    status, body = _create(client, token, name)
    assert status == 201, body
    assert body["name"] == unicodedata.normalize("NFC", name)


@pytest.mark.parametrize(("name", "message"), HIDDEN_NAMES)
def test_the_form_refuses_a_name_that_shows_nothing_beside_the_field(
    client: FlaskClient, make_user: Callable[..., int], name: str, message: str
) -> None:
    make_user("alice")
    sign_in(client, "alice")
    response = post_form(
        client,
        "/problems/new",
        {"name": name, "difficulty": "easy", "tags": "", "statement": ""},
        page="/problems/new",
    )
    assert response.status_code == 422
    assert field_errors(response.text, "name") == [message]
    assert client.get("/api/problems").get_json() == []


def test_the_openapi_pattern_refuses_separators_and_noncharacters(client: FlaskClient) -> None:
    doc = client.get("/api/openapi.json").get_json()
    name = doc["components"]["schemas"]["ProblemInput"]["properties"]["name"]
    pattern = re.compile(name["pattern"])
    for refused in ("a\u2028b", "a\u2029b", "a\ufffeb", "a\uffffb", "a\ufdd0b", "a\u200bb"):
        assert not pattern.search(refused), ascii(refused)
    for kept in ("Two Sum", "e\u0301", "两数之和", "🙂 Smile"):
        assert pattern.search(kept), kept
    assert "visible" in name["description"] and "noncharacter" in name["description"]


def test_a_statement_may_hold_bidi_text(client: FlaskClient, token: str) -> None:
    response = client.post(
        "/api/problems",
        json={"name": "Bidi", "statement": "RTL \u202e text and a zero\u200bwidth space"},
        headers=bearer(token),
    )
    assert response.status_code == 201


def test_a_cyrillic_look_alike_stays_a_different_name(client: FlaskClient, token: str) -> None:
    assert _create(client, token, "Two Sum")[0] == 201
    # Cyrillic Т (U+0422): catching it needs Unicode's confusables, which the README says.
    assert _create(client, token, "\u0422wo Sum")[0] == 201


def test_search_folds_compatibility_forms(client: FlaskClient, token: str) -> None:
    assert _create(client, token, "Two Sum")[0] == 201
    found = client.get("/api/search", query_string={"q": "ｔｗｏ"}).get_json()
    assert [p["name"] for p in found] == ["Two Sum"]


def test_a_renamed_problem_keeps_its_own_look_alike(client: FlaskClient, token: str) -> None:
    status, body = _create(client, token, "Two Sum")
    assert status == 201
    response = client.patch(
        f"/api/problems/{body['id']}", json={"name": "ＴＷＯ ＳＵＭ"}, headers=bearer(token)
    )
    assert response.status_code == 200


def test_the_form_puts_the_refusal_beside_the_name(
    client: FlaskClient, make_user: Callable[..., int]
) -> None:
    make_user("alice")
    sign_in(client, "alice")
    response = post_form(
        client,
        "/problems/new",
        {"name": "Two\u200bSum", "difficulty": "easy", "tags": "", "statement": ""},
        page="/problems/new",
    )
    assert response.status_code == 422
    assert field_errors(response.text, "name") == [
        "Must not contain invisible format characters (zero-width or bidi controls): U+200B."
    ]


@pytest.mark.parametrize(
    "name",
    ["Two Sum", "Ｔｗｏ Ｓｕｍ", "Two\u200bSum", "ß", "ﬁ", "ℌ", "İ", "ǅ", "❤\ufe0f", "\u0422wo"],
)
def test_the_key_is_stable(name: str) -> None:
    assert name_key(name_key(name)) == name_key(name)
