"""/api/openapi.json as a place to start from, and the /api/docs page around it.

Every request body has an example that works when sent to a seeded app (what
"Try it out" sends), every answer with a body has a real example, the
introduction says where a token comes from, and the document holds nothing
that misleads: no pagination schema, no pattern nobody can read.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from importlib import resources
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from openapi_schema_validator import OAS30Validator

from practice_app import rules
from practice_app.api import openapi
from tests.support.auth import bearer

MAX_PATTERN = 100


@pytest.fixture
def doc(client: FlaskClient) -> dict[str, Any]:
    document: dict[str, Any] = client.get("/api/openapi.json").get_json()
    return document


@pytest.fixture
def seeded(app: Flask, runner: FlaskCliRunner) -> Flask:
    """The app with the 36 sample problems (seed_problems.json)."""
    result = runner.invoke(args=["seed"])
    assert result.exit_code == 0, result.output
    return app


def operations(doc: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in doc["paths"].items():
        for method, operation in item.items():
            if method != "parameters":
                yield path, method, operation


def json_media(holder: dict[str, Any]) -> dict[str, Any] | None:
    media: dict[str, Any] | None = holder.get("content", {}).get("application/json")
    return media


def resolve(doc: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = doc["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def example_of(doc: dict[str, Any], schema: dict[str, Any], where: str) -> Any:
    """The example Swagger UI shows for ``schema``; fails where it would make one up."""
    schema = resolve(doc, schema)
    if "example" in schema:
        return schema["example"]
    if "anyOf" in schema:
        return example_of(doc, schema["anyOf"][0], where)
    if schema.get("type") == "array":
        return [example_of(doc, schema["items"], f"{where}[]")]
    if schema.get("type") == "object" and "properties" in schema:
        return {
            name: example_of(doc, prop, f"{where}.{name}")
            for name, prop in schema["properties"].items()
        }
    if "enum" in schema:
        return schema["enum"][0]
    pytest.fail(f"{where}: no example (Swagger UI would show a made-up value)")


def validator(doc: dict[str, Any], schema: dict[str, Any]) -> OAS30Validator:
    """Validates against ``schema``, its $refs resolved in the document's components."""
    return OAS30Validator({**schema, "components": doc["components"]})


# -- examples ---------------------------------------------------------------------------


def test_every_request_body_has_an_example_its_schema_accepts(doc: dict[str, Any]) -> None:
    bodies = 0
    for path, method, operation in operations(doc):
        if "requestBody" not in operation:
            continue
        bodies += 1
        media = json_media(operation["requestBody"])
        assert media is not None, (path, method)
        assert "example" in media, (path, method)
        validator(doc, media["schema"]).validate(media["example"])
    assert bodies == 4  # POST and PUT and PATCH of a problem, POST /api/revalidate


def test_every_answer_with_a_body_has_a_real_example(doc: dict[str, Any]) -> None:
    for path, method, operation in operations(doc):
        for status, answer in operation["responses"].items():
            media = json_media(answer)
            if media is None:
                continue
            where = f"{method.upper()} {path} {status}"
            example = media.get("example")
            if example is None:
                example = example_of(doc, media["schema"], where)
            validator(doc, media["schema"]).validate(example)


def test_the_query_parameters_of_search_have_examples(doc: dict[str, Any]) -> None:
    parameters = {p["name"]: p for p in doc["paths"]["/api/search"]["get"]["parameters"]}
    assert parameters["q"]["schema"]["example"] == "tree"
    assert parameters["tag"]["schema"]["example"] == "dfs"


def test_the_post_example_creates_a_problem_in_a_seeded_app(
    seeded: Flask, client: FlaskClient, doc: dict[str, Any], token: str
) -> None:
    body = json_media(doc["paths"]["/api/problems"]["post"]["requestBody"])
    assert body is not None
    created = client.post("/api/problems", json=body["example"], headers=bearer(token))
    assert created.status_code == 201, created.get_json()
    # What the document shows for the 201 has the same fields as what came back.
    answer = json_media(doc["paths"]["/api/problems"]["post"]["responses"]["201"])
    assert answer is not None
    assert set(answer["example"]) == set(created.get_json())
    assert {k: created.get_json()[k] for k in body["example"]} == body["example"]


def test_the_put_and_patch_examples_change_the_new_problem(
    seeded: Flask, client: FlaskClient, doc: dict[str, Any], token: str
) -> None:
    item = doc["paths"]["/api/problems/{problem_id}"]
    created = client.post("/api/problems", json=openapi.NEW_PROBLEM, headers=bearer(token))
    assert created.status_code == 201
    url = created.headers["Location"]
    for method in ("put", "patch"):
        body = json_media(item[method]["requestBody"])
        assert body is not None
        answer = client.open(
            url, method=method.upper(), json=body["example"], headers=bearer(token)
        )
        assert answer.status_code == 200, (method, answer.get_json())
        shown = json_media(item[method]["responses"]["200"])
        assert shown is not None
        expected = {k: v for k, v in shown["example"].items() if k in body["example"]}
        assert {k: answer.get_json()[k] for k in expected} == expected


def test_the_revalidate_example_works_for_an_admin(
    seeded: Flask,
    client: FlaskClient,
    doc: dict[str, Any],
    make_user: Callable[..., int],
    make_token: Callable[[str], str],
) -> None:
    make_user("root", admin=True)
    body = json_media(doc["paths"]["/api/revalidate"]["post"]["requestBody"])
    assert body is not None
    answer = client.post(
        "/api/revalidate", json=body["example"], headers=bearer(make_token("root"))
    )
    assert answer.status_code == 200, answer.get_json()


def test_no_example_names_a_sample_problem_it_would_collide_with(doc: dict[str, Any]) -> None:
    samples = json.loads(
        resources.files("practice_app").joinpath("seed_problems.json").read_text("utf-8")
    )
    taken = {rules.name_key(sample["name"]) for sample in samples}
    for path, method, operation in operations(doc):
        media = json_media(operation.get("requestBody", {}))
        name = (media or {}).get("example", {}).get("name")
        if name is not None:
            assert rules.name_key(name) not in taken, (path, method, name)


# -- the introduction ----------------------------------------------------------------------


def test_the_introduction_says_where_a_token_comes_from(doc: dict[str, Any]) -> None:
    description = doc["info"]["description"]
    assert "/account/tokens" in description
    for subject in ("Bearer", '"error"', '"details"', "429", "Retry-After", "ETag", "If-Match"):
        assert subject in description, subject
    for header in ("If-None-Match", "Idempotency-Key", "X-Cache", "X-Data-Cache"):
        assert header in description, header
    scheme = doc["components"]["securitySchemes"]["bearerAuth"]["description"]
    assert "/account/tokens" in scheme
    assert "flask --app practice_app tokens create" in scheme  # for operators, second


def test_the_rate_limit_in_the_introduction_is_the_configured_one(
    make_app: Callable[..., Flask],
) -> None:
    app = make_app(API_WRITE_RATE_LIMIT="7 per minute")
    with app.app_context():
        description = app.extensions["flask-smorest"]["apis"][""]["ext_obj"].spec.to_dict()
    assert "`7 per minute`" in description["info"]["description"]


# -- nothing that misleads -----------------------------------------------------------------


def test_the_document_has_no_pagination_schema(client: FlaskClient, doc: dict[str, Any]) -> None:
    assert "PaginationMetadata" not in doc["components"]["schemas"]
    text = client.get("/api/openapi.json").get_data(as_text=True)
    assert "PaginationMetadata" not in text and "X-Pagination" not in text


def patterns(node: Any, where: str = "") -> Iterator[tuple[str, str]]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "pattern" and isinstance(value, str):
                yield where, value
            else:
                yield from patterns(value, f"{where}/{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from patterns(value, f"{where}/{index}")


def test_no_pattern_is_longer_than_a_reader_reads(doc: dict[str, Any]) -> None:
    found = list(patterns(doc))
    assert found
    assert {where: len(p) for where, p in found if len(p) > MAX_PATTERN} == {}


def test_the_short_name_pattern_accepts_every_name_the_long_one_does() -> None:
    """The document never refuses a character the server accepts in a name.

    It accepts a few rare format characters the server refuses (422): the
    field's description names the whole rule in words.
    """
    long, short = re.compile(rules.VISIBLE_LINE_PATTERN), re.compile(openapi.NAME_PATTERN)
    refused_only_by_the_document = [
        f"U+{point:04X}"
        for point in range(0x110000)
        if not 0xD800 <= point <= 0xDFFF
        and long.search(f"a{chr(point)}b")
        and not short.search(f"a{chr(point)}b")
    ]
    assert refused_only_by_the_document == []
    for blank in (" ", "\t", "\u3000", " \u00a0 "):
        assert not short.search(blank)


def test_the_name_in_the_document_states_its_rule_in_words(doc: dict[str, Any]) -> None:
    name = doc["components"]["schemas"]["ProblemInput"]["properties"]["name"]
    assert name["pattern"] == openapi.NAME_PATTERN
    for words in ("visible", "control", "invisible format", "noncharacter", "NFKC"):
        assert words in name["description"], words


def test_the_search_pattern_is_blank_as_python_says() -> None:
    """``q``'s pattern, shortened, still names exactly str.isspace's characters, and NUL."""
    from practice_app.api.schemas import SearchArgs

    pattern = re.compile(SearchArgs().fields["q"].metadata["pattern"])
    wrong = [
        f"U+{point:04X}"
        for point in range(0x110000)
        if not 0xD800 <= point <= 0xDFFF
        and bool(pattern.search(chr(point))) == (chr(point).isspace() or point == 0)
    ]
    assert wrong == []


# -- the page ------------------------------------------------------------------------------


def test_the_docs_page_has_the_sites_frame_and_its_theme(client: FlaskClient) -> None:
    page = client.get("/api/docs")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert re.search(r"<h1[^>]*>Practice Problems API</h1>", html)
    assert "<header" in html and '<main class="docs-main" id="main"' in html
    assert 'href="/"' in html and 'href="/compare"' in html and 'href="/account/tokens"' in html
    assert 'name="color-scheme" content="light dark"' in html
    assert "/static/swagger-theme.css" in html
    assert re.search(r"<script(?![^>]*\bsrc=)", html) is None  # no inline script
    theme = client.get("/static/swagger-theme.css")
    assert theme.status_code == 200 and theme.mimetype == "text/css"
    assert "@media (prefers-color-scheme: dark)" in theme.get_data(as_text=True)
    theme.close()
