"""Conditional writes (If-Match, 412) and idempotent creates (Idempotency-Key), test client.

The races (two writers with one ETag, ten POSTs with one key) are in
e2e/test_public_api.py, against gunicorn.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select, update

from practice_app.extensions import db
from practice_app.models import IdempotentRequest, Problem, utc_now
from tests.support.auth import bearer


def count(app: Flask, model: type) -> int:
    with app.app_context():
        return int(db.session.scalar(select(func.count()).select_from(model)) or 0)


# -- If-Match ----------------------------------------------------------------------


def test_get_and_every_write_send_the_etag_of_the_state_they_show(
    client: FlaskClient, token: str
) -> None:
    created = client.post("/api/problems", json={"name": "Etagged"}, headers=bearer(token))
    path = created.headers["Location"]
    assert created.headers["ETag"] == client.get(path).headers["ETag"]
    patched = client.patch(path, json={"difficulty": "hard"}, headers=bearer(token))
    assert patched.headers["ETag"] != created.headers["ETag"]
    assert patched.headers["ETag"] == client.get(path).headers["ETag"]
    put = client.put(path, json={"name": "Etagged"}, headers=bearer(token))
    assert put.headers["ETag"] == client.get(path).headers["ETag"]


def test_get_sends_the_etag_even_when_the_cache_cannot_store(
    make_app: Callable[..., Flask], make_user: Callable[..., int], make_problem: Callable[..., int]
) -> None:
    app = make_app(CACHE_TYPE="NullCache", CACHE_NO_NULL_WARNING=True)
    make_user("alice")
    problem_id = make_problem(name="Uncached")
    response = app.test_client().get(f"/api/problems/{problem_id}")
    assert "X-Cache" not in response.headers
    assert response.headers["ETag"].startswith('"')


@pytest.mark.parametrize("method", ["put", "patch", "delete"])
def test_a_stale_if_match_is_a_412_and_changes_nothing(
    app: Flask, client: FlaskClient, token: str, method: str
) -> None:
    path = client.post("/api/problems", json={"name": "Stale"}, headers=bearer(token)).headers[
        "Location"
    ]
    old = client.get(path).headers["ETag"]
    client.patch(path, json={"statement": "changed"}, headers=bearer(token))
    current = client.get(path)
    body = {"name": "Stale", "difficulty": "easy"} if method != "delete" else None
    response = getattr(client, method)(path, json=body, headers={**bearer(token), "If-Match": old})
    assert response.status_code == 412
    assert set(response.get_json()) == {"error"}
    assert client.get(path).get_data() == current.get_data()


@pytest.mark.parametrize("method", ["put", "patch", "delete"])
def test_the_current_etag_or_star_lets_the_write_through(
    client: FlaskClient, token: str, method: str
) -> None:
    for if_match in ("current", "*", "list"):
        name = f"Fresh {method} {if_match}"
        path = client.post("/api/problems", json={"name": name}, headers=bearer(token)).headers[
            "Location"
        ]
        etag = client.get(path).headers["ETag"]
        header = {"current": etag, "*": "*", "list": f'"nope", {etag}'}[if_match]
        body = {"name": name, "difficulty": "easy"} if method != "delete" else None
        response = getattr(client, method)(
            path, json=body, headers={**bearer(token), "If-Match": header}
        )
        assert response.status_code == (204 if method == "delete" else 200), if_match


def test_a_weak_etag_never_matches_if_match(client: FlaskClient, token: str) -> None:
    path = client.post("/api/problems", json={"name": "Weak"}, headers=bearer(token)).headers[
        "Location"
    ]
    etag = client.get(path).headers["ETag"]
    response = client.patch(
        path, json={"difficulty": "easy"}, headers={**bearer(token), "If-Match": "W/" + etag}
    )
    assert response.status_code == 412


@pytest.mark.parametrize("header", ['""', '"", "nope"', 'W/""', "no-quotes", ","])
def test_an_empty_or_odd_if_match_is_a_412_never_a_500(
    client: FlaskClient, token: str, header: str
) -> None:
    path = client.post("/api/problems", json={"name": f"Odd {header}"}, headers=bearer(token))
    response = client.patch(
        path.headers["Location"],
        json={"difficulty": "easy"},
        headers={**bearer(token), "If-Match": header},
    )
    assert response.status_code == 412


def test_if_match_on_a_problem_that_is_gone_is_a_404(client: FlaskClient, token: str) -> None:
    response = client.patch(
        "/api/problems/999", json={"difficulty": "easy"}, headers={**bearer(token), "If-Match": "*"}
    )
    assert response.status_code == 404


# -- Idempotency-Key ------------------------------------------------------------------


def test_a_retry_with_the_same_key_and_body_replays_byte_for_byte(
    app: Flask, client: FlaskClient, token: str
) -> None:
    headers = {**bearer(token), "Idempotency-Key": "order-1"}
    first = client.post("/api/problems", json={"name": "Once", "tags": ["a"]}, headers=headers)
    assert first.status_code == 201
    assert first.headers["Idempotent-Replayed"] == "false"
    # The same content, spaced and ordered otherwise, after the problem changed.
    client.patch(first.headers["Location"], json={"difficulty": "hard"}, headers=bearer(token))
    again = client.post(
        "/api/problems",
        data='{ "tags": ["a"],  "name": "Once" }',
        content_type="application/json",
        headers=headers,
    )
    assert again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.get_data() == first.get_data()
    assert again.headers["Location"] == first.headers["Location"]
    assert again.headers["ETag"] == first.headers["ETag"]
    assert count(app, Problem) == 1


def test_the_same_key_with_another_body_is_a_422(
    app: Flask, client: FlaskClient, token: str
) -> None:
    headers = {**bearer(token), "Idempotency-Key": "order-2"}
    assert client.post("/api/problems", json={"name": "First"}, headers=headers).status_code == 201
    response = client.post("/api/problems", json={"name": "Second"}, headers=headers)
    assert response.status_code == 422
    assert "Idempotency-Key" in response.get_json()["details"]
    assert count(app, Problem) == 1


def test_keys_belong_to_one_token(
    app: Flask, client: FlaskClient, token: str, make_token: Callable[[str], str]
) -> None:
    other = make_token("alice")
    first = client.post(
        "/api/problems", json={"name": "Mine"}, headers={**bearer(token), "Idempotency-Key": "k"}
    )
    second = client.post(
        "/api/problems", json={"name": "Mine 2"}, headers={**bearer(other), "Idempotency-Key": "k"}
    )
    assert (first.status_code, second.status_code) == (201, 201)
    assert count(app, Problem) == 2


def test_a_failed_create_keeps_no_key_and_a_retry_runs_again(
    app: Flask, client: FlaskClient, token: str
) -> None:
    headers = {**bearer(token), "Idempotency-Key": "order-3"}
    assert client.post("/api/problems", json={"name": ""}, headers=headers).status_code == 422
    assert count(app, IdempotentRequest) == 0
    assert client.post("/api/problems", json={"name": "Fixed"}, headers=headers).status_code == 201
    client.post("/api/problems", json={"name": "Taken"}, headers=bearer(token))
    taken = {**bearer(token), "Idempotency-Key": "order-4"}
    assert client.post("/api/problems", json={"name": "taken"}, headers=taken).status_code == 409
    assert count(app, IdempotentRequest) == 1


@pytest.mark.parametrize("key", ["", " ", "x" * 256, "caf\u00e9", "tab\there"])
def test_a_key_that_is_not_1_to_255_visible_ascii_is_a_400(
    app: Flask, client: FlaskClient, token: str, key: str
) -> None:
    response = client.post(
        "/api/problems",
        data=json.dumps({"name": "Keyed"}),
        content_type="application/json",
        headers={**bearer(token), "Idempotency-Key": key.encode().decode("latin-1")},
    )
    assert response.status_code == 400
    assert count(app, Problem) == 0


def test_keys_expire_after_a_day_and_are_deleted_by_the_next_keyed_post(
    app: Flask, client: FlaskClient, token: str
) -> None:
    headers = {**bearer(token), "Idempotency-Key": "old"}
    assert (
        client.post("/api/problems", json={"name": "Day one"}, headers=headers).status_code == 201
    )
    with app.app_context():
        db.session.execute(
            update(IdempotentRequest).values(created_at=utc_now() - timedelta(hours=25))
        )
        db.session.commit()
    again = client.post("/api/problems", json={"name": "Day two"}, headers=headers)
    assert again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "false"
    assert count(app, Problem) == 2
    assert count(app, IdempotentRequest) == 1
