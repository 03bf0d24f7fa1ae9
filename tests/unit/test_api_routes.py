"""Search, whoami, stats, clocks, methods, errors, the OpenAPI document and /healthz."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from practice_app import documents
from tests.support.auth import bearer
from tests.support.forms import sign_in


@pytest.fixture
def catalogue(make_user: Callable[..., int], make_problem: Callable[..., int]) -> dict[str, int]:
    make_user("alice")
    names = {
        "Invert Binary Tree": ("easy", ["trees"]),
        "Binary TREE Paths": ("medium", ["trees", "dfs"]),
        "Trie (Prefix Tree)": ("hard", ["trie"]),
        "Two Sum": ("easy", ["arrays"]),
        "Élan Vital": ("medium", []),
        "100% Coverage": ("easy", []),
        "snake_case Names": ("easy", []),
    }
    return {
        name: make_problem(name=name, difficulty=difficulty, tags=tags)
        for name, (difficulty, tags) in names.items()
    }


def names(response: object) -> list[str]:
    return [p["name"] for p in response.get_json()]  # type: ignore[attr-defined]


def test_search_is_case_insensitive_contains_by_id(
    client: FlaskClient, catalogue: dict[str, int]
) -> None:
    response = client.get("/api/search?q=tReE")
    assert response.status_code == 200
    assert names(response) == ["Invert Binary Tree", "Binary TREE Paths", "Trie (Prefix Tree)"]
    assert response.headers["X-Total-Count"] == "3"
    assert "Link" not in response.headers


def test_search_folds_non_ascii_case(client: FlaskClient, catalogue: dict[str, int]) -> None:
    assert names(client.get("/api/search?q=é")) == ["Élan Vital"]
    assert names(client.get("/api/search?q=ÉLAN")) == ["Élan Vital"]


def test_search_treats_wildcards_literally(client: FlaskClient, catalogue: dict[str, int]) -> None:
    assert names(client.get("/api/search?q=%25")) == ["100% Coverage"]
    assert names(client.get("/api/search?q=_")) == ["snake_case Names"]
    assert names(client.get("/api/search?q=\\")) == []


@pytest.mark.parametrize("query", ["", "?q=", "?q=%20%20", "?difficulty=easy"])
def test_search_without_q_is_400(client: FlaskClient, query: str) -> None:
    response = client.get(f"/api/search{query}")
    assert response.status_code == 400
    assert response.get_json() == {"error": "Query parameter required"}


def test_search_filters(client: FlaskClient, catalogue: dict[str, int]) -> None:
    assert names(client.get("/api/search?q=tree&difficulty=medium")) == ["Binary TREE Paths"]
    assert names(client.get("/api/search?q=tree&tag=DFS")) == ["Binary TREE Paths"]
    assert names(client.get("/api/search?q=tree&tag=nope")) == []


def test_search_pages_with_total_and_next_link(
    client: FlaskClient, catalogue: dict[str, int]
) -> None:
    first = client.get("/api/search?q=tree&limit=2")
    assert names(first) == ["Invert Binary Tree", "Binary TREE Paths"]
    assert first.headers["X-Total-Count"] == "3"
    link = first.headers["Link"]
    assert link.endswith('; rel="next"')
    following = link[link.index("<") + 1 : link.index(">")]
    second = client.get(following)
    assert names(second) == ["Trie (Prefix Tree)"]
    assert "Link" not in second.headers
    assert names(client.get("/api/search?q=tree&offset=3")) == []


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("limit=0", "limit"),
        ("limit=201", "limit"),
        ("limit=x", "limit"),
        ("offset=-1", "offset"),
        ("difficulty=extreme", "difficulty"),
    ],
)
def test_search_bad_paging_is_422(client: FlaskClient, query: str, field: str) -> None:
    response = client.get(f"/api/search?q=a&{query}")
    assert response.status_code == 422
    assert field in response.get_json()["details"]


def test_whoami_anonymous_token_and_session(
    app: Flask, client: FlaskClient, make_user: Callable[..., int], make_token: Callable[[str], str]
) -> None:
    anonymous = client.get("/api/whoami", headers={"User-Agent": "probe/1.0"})
    assert anonymous.get_json() == {"user": None, "userAgent": "probe/1.0"}
    make_user("root", admin=True)
    by_token = client.get("/api/whoami", headers={**bearer(make_token("root")), "User-Agent": "x"})
    assert by_token.get_json() == {"user": {"name": "root", "admin": True}, "userAgent": "x"}
    bad = client.get("/api/whoami", headers=bearer("pp_wrong"))
    assert bad.status_code == 401
    # a session cookie signed in by Flask-Login
    make_user("sess")
    sign_in(client, "sess")
    assert client.get("/api/whoami").get_json()["user"] == {"name": "sess", "admin": False}


def test_stats_counts_by_difficulty(client: FlaskClient, catalogue: dict[str, int]) -> None:
    stats = client.get("/api/stats").get_json()
    assert stats["total"] == 7
    assert stats["by_difficulty"] == {"easy": 4, "medium": 2, "hard": 1}
    assert stats["generated_at"].endswith("Z")


@pytest.mark.parametrize("kind", ["static", "dynamic", "revalidate"])
def test_clocks_answer_now(client: FlaskClient, kind: str) -> None:
    body = client.get(f"/api/clock/{kind}").get_json()
    assert set(body) == {"now"} and body["now"].endswith("Z")


ROUTES = [
    ("/api/problems", {"GET", "HEAD", "POST", "OPTIONS"}),
    ("/api/problems/1", {"GET", "HEAD", "PUT", "PATCH", "DELETE", "OPTIONS"}),
    ("/api/search?q=a", {"GET", "HEAD", "OPTIONS"}),
    ("/api/whoami", {"GET", "HEAD", "OPTIONS"}),
    ("/api/stats", {"GET", "HEAD", "OPTIONS"}),
    ("/api/clock/static", {"GET", "HEAD", "OPTIONS"}),
    ("/api/clock/dynamic", {"GET", "HEAD", "OPTIONS"}),
    ("/api/clock/revalidate", {"GET", "HEAD", "OPTIONS"}),
    ("/api/openapi.json", {"GET", "HEAD", "OPTIONS"}),
    ("/healthz", {"GET", "HEAD", "OPTIONS"}),
]


@pytest.mark.parametrize(("path", "allowed"), ROUTES)
def test_head_options_and_405_on_every_route(
    client: FlaskClient,
    make_user: Callable[..., int],
    make_problem: Callable[..., int],
    path: str,
    allowed: set[str],
) -> None:
    make_user("alice")
    make_problem(name="One")
    get = client.get(path)
    head = client.head(path)
    assert head.status_code == get.status_code == 200
    assert head.data == b""
    assert head.headers["Content-Type"] == get.headers["Content-Type"]
    assert head.headers["Content-Length"] == get.headers["Content-Length"]
    options = client.options(path)
    assert options.status_code == 204
    assert options.data == b""
    assert set(options.headers["Allow"].replace(" ", "").split(",")) == allowed
    for method in {"GET", "POST", "PUT", "PATCH", "DELETE"} - allowed:
        refused = client.open(path, method=method)
        assert refused.status_code == 405
        assert set(refused.headers["Allow"].replace(" ", "").split(",")) == allowed
        if path.startswith("/api"):
            assert refused.get_json() == {"error": "Method not allowed."}


def test_unknown_api_path_is_404_json(client: FlaskClient) -> None:
    response = client.get("/api/nothing/here")
    assert response.status_code == 404
    assert response.get_json() == {"error": "Not found."}


def test_a_crash_is_a_json_500_without_a_stack_trace(
    app: Flask,
    client: FlaskClient,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:

    def explode() -> None:
        raise RuntimeError("secret internals")

    monkeypatch.setattr(documents, "list_documents", explode)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    response = client.get("/api/problems")
    assert response.status_code == 500
    assert response.get_json() == {"error": "Something went wrong on our side."}
    assert b"secret internals" not in response.data and b"Traceback" not in response.data
    assert "secret internals" in caplog.text


def test_openapi_document_describes_the_api(client: FlaskClient) -> None:
    doc = client.get("/api/openapi.json").get_json()
    assert doc["openapi"].startswith("3.")
    paths = doc["paths"]
    assert {"get", "post"} <= set(paths["/api/problems"])
    assert {"get", "put", "patch", "delete"} <= set(paths["/api/problems/{problem_id}"])
    assert "/api/search" in paths and "/api/whoami" in paths and "/api/stats" in paths
    schemas = doc["components"]["schemas"]
    name = schemas["ProblemInput"]["properties"]["name"]
    assert name["maxLength"] == 200
    assert doc["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"


def test_docs_page_serves_its_own_assets(client: FlaskClient) -> None:
    page = client.get("/api/docs")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "/api/docs/assets/swagger-ui-bundle.js" in html
    assert "cdn" not in html.lower() and "unpkg" not in html.lower()
    asset = client.get("/api/docs/assets/swagger-ui-bundle.js")
    assert asset.status_code == 200
    assert len(asset.data) > 100_000
    asset.close()


def test_healthz(client: FlaskClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}


def test_healthz_is_503_when_the_database_does_not_answer(
    make_app: Callable[..., Flask],
) -> None:
    app = make_app(SQLALCHEMY_DATABASE_URI="sqlite:////nonexistent-dir/x/db.sqlite3")
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.get_json()["status"] != "ok"


def test_openapi_document_is_valid_openapi(client: FlaskClient) -> None:
    from openapi_spec_validator import validate

    validate(client.get("/api/openapi.json").get_json())


OPERATION_IDS = {
    ("/api/problems", "get"): "listProblems",
    ("/api/problems", "post"): "createProblem",
    ("/api/problems/{problem_id}", "get"): "getProblem",
    ("/api/problems/{problem_id}", "put"): "replaceProblem",
    ("/api/problems/{problem_id}", "patch"): "updateProblem",
    ("/api/problems/{problem_id}", "delete"): "deleteProblem",
    ("/api/search", "get"): "searchProblems",
    ("/api/whoami", "get"): "whoAmI",
    ("/api/stats", "get"): "getStats",
    ("/api/revalidate", "post"): "revalidate",
    ("/api/clock/static", "get"): "getStaticClock",
    ("/api/clock/dynamic", "get"): "getDynamicClock",
    ("/api/clock/revalidate", "get"): "getRevalidatingClock",
}
# Cached GETs: a 200 with ETag and X-Cache, and a 304 to If-None-Match.
STORED = {"/api/problems", "/api/problems/{problem_id}", "/api/stats", "/api/clock/static"}
STORED |= {"/api/clock/revalidate"}


def _operations(doc: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {
        (path, method): operation
        for path, item in doc["paths"].items()
        for method, operation in item.items()
        if method != "parameters"
    }


def test_the_document_is_one_a_client_generator_can_use(client: FlaskClient) -> None:
    doc = client.get("/api/openapi.json").get_json()
    operations = _operations(doc)
    assert {key: op["operationId"] for key, op in operations.items()} == OPERATION_IDS
    assert {tag["name"] for tag in doc["tags"]} == {
        tag for op in operations.values() for tag in op["tags"]
    }
    assert operations["/api/problems", "get"]["tags"] == ["problems"]
    assert operations["/api/whoami", "get"]["tags"] == ["account"]
    (problem_id,) = doc["paths"]["/api/problems/{problem_id}"]["parameters"]
    assert problem_id["schema"] == {"type": "integer", "minimum": 1, "maximum": 2**31 - 1}

    error = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}
    for (path, method), op in operations.items():
        responses = op["responses"]
        for status, answer in responses.items():
            assert "X-Request-ID" in answer["headers"], (path, method, status)
            if status[0] in "45" or status == "default":
                assert answer["content"] == error, (path, method, status)
        if "requestBody" in op:
            assert {"400", "413", "415", "422"} <= set(responses), (path, method)
        if method in ("post", "put", "patch", "delete"):
            assert "Retry-After" in responses["429"]["headers"]
            assert "401" in responses
        if method == "get" and path in STORED:
            assert {"ETag", "X-Cache"} <= set(responses["200"]["headers"])
            assert "304" in responses and "content" not in responses["304"]
        else:
            assert "304" not in responses, (path, method)
    writes = {key: op for key, op in operations.items() if key[0].startswith("/api/problems/")}
    for (_path, method), op in writes.items():
        if method != "get":
            assert {"401", "403", "404", "412"} <= set(op["responses"])
        if method in ("put", "patch"):
            assert {"409", "413", "415"} <= set(op["responses"])
            assert "ETag" in op["responses"]["200"]["headers"]
    created = operations["/api/problems", "post"]["responses"]
    assert {"Location", "ETag"} <= set(created["201"]["headers"]) and "409" in created
    search = operations["/api/search", "get"]["responses"]["200"]["headers"]
    assert {"X-Total-Count", "Link"} <= set(search)
