"""Bearer tokens and ownership on the API's writes."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient

from practice_app import services
from practice_app.extensions import db
from practice_app.models import ApiToken
from tests.support.auth import bearer

WRITES = [
    ("post", "/api/problems"),
    ("put", "/api/problems/{pid}"),
    ("patch", "/api/problems/{pid}"),
    ("delete", "/api/problems/{pid}"),
]


@pytest.fixture
def pid(make_user: Callable[..., int], make_problem: Callable[..., int]) -> int:
    make_user("alice")
    return make_problem("alice", name="Alice's problem")


@pytest.mark.parametrize(("method", "path"), WRITES)
@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer", "Bearer ", "Basic YWxpY2U6cHc=", "Token abc", "Bearer pp_not-a-real-token"],
)
def test_writes_without_a_valid_token_are_401_and_change_nothing(
    client: FlaskClient, pid: int, method: str, path: str, authorization: str | None
) -> None:
    headers = {"Authorization": authorization} if authorization else {}
    response = getattr(client, method)(
        path.format(pid=pid), json={"name": "Hacked"}, headers=headers
    )
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert isinstance(response.get_json()["error"], str)
    assert client.get(f"/api/problems/{pid}").get_json()["name"] == "Alice's problem"
    assert len(client.get("/api/problems").get_json()) == 1


def test_the_scheme_is_case_insensitive(
    client: FlaskClient, pid: int, make_token: Callable[[str], str]
) -> None:
    token = make_token("alice")
    for scheme in ("bearer", "BEARER", "BeArEr"):
        response = client.patch(
            f"/api/problems/{pid}",
            json={"statement": scheme},
            headers={"Authorization": f"{scheme} {token}"},
        )
        assert response.status_code == 200


def test_unauthenticated_garbage_is_401_before_400(client: FlaskClient) -> None:
    response = client.post("/api/problems", data="{nope", content_type="application/json")
    assert response.status_code == 401


@pytest.mark.parametrize(("method", "path"), WRITES[1:])
def test_someone_elses_problem_is_403(
    client: FlaskClient,
    pid: int,
    make_user: Callable[..., int],
    make_token: Callable[[str], str],
    method: str,
    path: str,
) -> None:
    make_user("bob")
    response = getattr(client, method)(
        path.format(pid=pid), json={"name": "Bob's now"}, headers=bearer(make_token("bob"))
    )
    assert response.status_code == 403
    assert isinstance(response.get_json()["error"], str)
    assert client.get(f"/api/problems/{pid}").get_json()["name"] == "Alice's problem"


def test_an_admin_may_change_anyones_problem(
    client: FlaskClient, pid: int, make_user: Callable[..., int], make_token: Callable[[str], str]
) -> None:
    make_user("root", admin=True)
    token = make_token("root")
    assert (
        client.patch(
            f"/api/problems/{pid}", json={"name": "Admin's"}, headers=bearer(token)
        ).status_code
        == 200
    )
    assert client.get(f"/api/problems/{pid}").get_json()["author"] == "alice"
    assert client.delete(f"/api/problems/{pid}", headers=bearer(token)).status_code == 204


def test_a_revoked_token_is_refused(
    app: Flask, client: FlaskClient, pid: int, make_token: Callable[[str], str]
) -> None:
    token = make_token("alice")
    with app.app_context():
        user = services.find_user("alice")
        assert user is not None
        services.revoke_token(user, user.tokens[0].id)
    response = client.post("/api/problems", json={"name": "x"}, headers=bearer(token))
    assert response.status_code == 401
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]


def test_only_a_hash_of_the_token_is_stored_and_use_is_recorded(
    app: Flask, client: FlaskClient, pid: int, make_token: Callable[[str], str]
) -> None:
    token = make_token("alice")
    with app.app_context():
        row = db.session.query(ApiToken).one()
        assert token not in (row.token_hash, row.prefix, row.label)
        assert row.last_used_at is None
    client.get("/api/whoami", headers=bearer(token))
    with app.app_context():
        assert db.session.query(ApiToken).one().last_used_at is not None


def test_the_api_needs_no_csrf_token(
    make_app: Callable[..., Flask], make_user: Callable[..., int]
) -> None:
    app = make_app(WTF_CSRF_ENABLED=True)
    with app.app_context():
        user = services.create_user("carol", "long-enough-pw")
        token = services.create_token(user)[1]
    response = app.test_client().post(
        "/api/problems", json={"name": "No CSRF"}, headers=bearer(token)
    )
    assert response.status_code == 201
