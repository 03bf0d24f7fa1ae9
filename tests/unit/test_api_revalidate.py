"""POST /api/revalidate: Next.js's revalidatePath and revalidateTag (test client)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from practice_app.api.auth import webhook_signature
from practice_app.extensions import db, route_cache
from tests.support.auth import bearer

SECRET = "webhook-secret-for-tests"


@pytest.fixture
def app(make_app: Callable[..., Flask]) -> Flask:
    return make_app(REVALIDATE_SECRET=SECRET)


@pytest.fixture
def admin(make_user: Callable[..., int], make_token: Callable[[str], str]) -> str:
    make_user("root", admin=True)
    return make_token("root")


def signed(body: bytes, *, secret: str = SECRET, at: float | None = None) -> dict[str, str]:
    timestamp = str(int(time.time() if at is None else at))
    return {
        "Content-Type": "application/json",
        "X-Webhook-Timestamp": timestamp,
        "X-Webhook-Signature": webhook_signature(secret, timestamp, body),
    }


def test_an_admin_drops_a_path_and_its_next_get_is_a_miss(
    client: FlaskClient, admin: str, make_problem: Callable[..., int]
) -> None:
    problem_id = make_problem("root", name="Kept")
    path = f"/api/problems/{problem_id}"
    assert client.get(path).headers["X-Cache"] == "MISS"
    assert client.get(path).headers["X-Cache"] == "HIT"
    assert client.get("/api/problems").headers["X-Cache"] == "MISS"

    response = client.post("/api/revalidate", json={"paths": [path]}, headers=bearer(admin))
    assert response.status_code == 200, response.get_json()
    assert response.get_json() == {"revalidated": {"paths": [path], "tags": []}}
    assert client.get(path).headers["X-Cache"] == "MISS"
    assert client.get("/api/problems").headers["X-Cache"] == "HIT"  # not named: kept


def test_a_tag_drops_every_view_that_declares_it(
    client: FlaskClient, admin: str, make_problem: Callable[..., int]
) -> None:
    problem_id = make_problem("root", name="Tagged")
    paths = ["/api/problems", f"/api/problems/{problem_id}", "/api/stats"]
    for path in [*paths, "/api/clock/static"]:
        client.get(path)
        assert client.get(path).headers["X-Cache"] == "HIT", path

    response = client.post("/api/revalidate", json={"tags": ["problems"]}, headers=bearer(admin))
    assert response.status_code == 200
    assert response.get_json() == {"revalidated": {"paths": [], "tags": ["problems"]}}
    for path in paths:
        assert client.get(path).headers["X-Cache"] == "MISS", path
    assert client.get("/api/clock/static").headers["X-Cache"] == "HIT"


def test_the_canonical_path_of_any_cached_view_is_accepted_once(
    client: FlaskClient, admin: str
) -> None:
    paths = [
        "/api/problems",
        "/api/problems/7",
        "/api/problems/2147483647",
        "/api/stats",
        "/api/clock/static",
        "/",
        "/problems/7",
        "/api/problems",
    ]
    response = client.post("/api/revalidate", json={"paths": paths}, headers=bearer(admin))
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["revalidated"]["paths"] == paths[:-1]


def version_rows(app: Flask) -> int:
    """How many paths and tags the database keeps a version of (``cache_versions``)."""
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(route_cache.table)) or 0


# Paths that no stored response can have, and a word of why each is refused.
NOT_STORED = {
    "/nope": "no route",
    "/api/problems/-1": "not a problem id",
    "/api/problems/0": "not a problem id",
    "/api/problems/2147483648": "not a problem id",
    "/api/problems/99999999999999999999": "not a problem id",
    "/api/problems/7.": "not a problem id",
    "/api/problems/\u0667": "not a problem id",  # Arabic-Indic seven
    "/api/problems/\uff11": "not a problem id",  # fullwidth one
    "/api/problems/7%00": "not a path",
    "/api/problems/7\x00": "not a path",
    "/api/problems/7\n": "not a path",
    "/static/../wsgi.py": "never cached",
    "/static/app.css": "never cached",
    "/api/clock/dynamic": "never cached",
    "/healthz": "never cached",
    "/api/revalidate": "no route",
    "/api/problems/007": "canonical spelling, which is /api/problems/7",
    "/api/problem%73": "canonical spelling, which is /api/problems",
    "//api/problems": "canonical spelling, which is /api/problems",
    "/api/problems/7/": "no route",
    "api/problems": "not a path",
    "/api/problems?x=1": "not a path",
}


@pytest.mark.parametrize(("path", "why"), NOT_STORED.items())
def test_a_path_no_stored_response_can_have_is_a_422_and_records_nothing(
    app: Flask, client: FlaskClient, admin: str, path: str, why: str
) -> None:
    client.get("/api/problems")
    before = version_rows(app)
    body = {"paths": ["/api/problems", path], "tags": ["problems"]}
    response = client.post("/api/revalidate", json=body, headers=bearer(admin))
    assert response.status_code == 422, response.get_json()
    [message] = response.get_json()["details"]["paths"]
    assert message.startswith(f"{path}: ") and why in message, message
    assert version_rows(app) == before  # not the valid path's nor the tag's either
    assert client.get("/api/problems").headers["X-Cache"] == "HIT"


def test_every_refused_path_is_named_in_one_422(client: FlaskClient, admin: str) -> None:
    paths = ["/api/problems/-1", "/api/problems/7", "/nope"]
    response = client.post("/api/revalidate", json={"paths": paths}, headers=bearer(admin))
    assert response.status_code == 422
    assert [m.split(": ")[0] for m in response.get_json()["details"]["paths"]] == [
        "/api/problems/-1",
        "/nope",
    ]


def test_a_problem_id_beyond_the_databases_integer_is_still_not_found(
    client: FlaskClient,
) -> None:
    for raw in ("2147483648", "99999999999999999999", "-1", "\uff11"):
        response = client.get(f"/api/problems/{raw}")
        assert response.status_code == 404, raw
        assert response.get_json() == {"error": "Problem not found"}


def test_a_signed_call_is_accepted_without_a_token(client: FlaskClient) -> None:
    client.get("/api/clock/static")
    body = json.dumps({"paths": ["/api/clock/static"]}).encode()
    response = client.post("/api/revalidate", data=body, headers=signed(body))
    assert response.status_code == 200, response.get_json()
    assert client.get("/api/clock/static").headers["X-Cache"] == "MISS"


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param(lambda body: signed(body, secret="another secret"), id="wrong secret"),
        pytest.param(lambda body: signed(body + b" "), id="another body"),
        pytest.param(lambda body: signed(body, at=time.time() - 301), id="too old"),
        pytest.param(lambda body: signed(body, at=time.time() + 301), id="from the future"),
        pytest.param(
            lambda body: {**signed(body), "X-Webhook-Signature": "sha256=zz"}, id="not hex"
        ),
        pytest.param(lambda body: {**signed(body), "X-Webhook-Timestamp": "soon"}, id="not a time"),
        pytest.param(lambda body: {"Content-Type": "application/json"}, id="unsigned"),
    ],
)
def test_a_bad_late_or_missing_signature_is_a_401_and_drops_nothing(
    client: FlaskClient, headers: Callable[[bytes], dict[str, str]]
) -> None:
    client.get("/api/clock/static")
    body = json.dumps({"paths": ["/api/clock/static"]}).encode()
    response = client.post("/api/revalidate", data=body, headers=headers(body))
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert set(response.get_json()) == {"error"}
    assert client.get("/api/clock/static").headers["X-Cache"] == "HIT"


def test_signed_calls_are_refused_when_no_secret_is_configured(
    make_app: Callable[..., Flask],
) -> None:
    client = make_app().test_client()
    body = b'{"tags": ["problems"]}'
    response = client.post("/api/revalidate", data=body, headers=signed(body))
    assert response.status_code == 401
    assert "secret" in response.get_json()["error"]


def test_a_token_that_is_not_an_admins_is_a_403(
    client: FlaskClient, make_user: Callable[..., int], make_token: Callable[[str], str]
) -> None:
    make_user("alice")
    response = client.post(
        "/api/revalidate", json={"tags": ["problems"]}, headers=bearer(make_token("alice"))
    )
    assert response.status_code == 403
    assert set(response.get_json()) == {"error"}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"paths": ["/nowhere"]}, "paths"),
        ({"paths": ["api/problems"]}, "paths"),
        ({"paths": ["/api/problems?x=1"]}, "paths"),
        ({"paths": ["/api/problems/7/x"]}, "paths"),
        ({"paths": ["/api/problems\x00"]}, "paths"),
        ({"tags": ["nobody-declares-this"]}, "tags"),
        ({}, "paths"),
        ({"paths": [], "tags": []}, "paths"),
        ({"paths": "/api/problems"}, "paths"),
        ({"paths": ["/api/problems"], "extra": 1}, "extra"),
    ],
)
def test_paths_and_tags_this_site_does_not_have_are_a_422_and_drop_nothing(
    client: FlaskClient, admin: str, body: dict[str, object], field: str
) -> None:
    client.get("/api/problems")
    response = client.post("/api/revalidate", json=body, headers=bearer(admin))
    assert response.status_code == 422, response.get_json()
    assert field in response.get_json()["details"]
    assert client.get("/api/problems").headers["X-Cache"] == "HIT"
