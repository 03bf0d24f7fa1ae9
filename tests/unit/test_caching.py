"""Static and dynamic GET (the caching package), each mode by itself, with the test client."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from flask import Flask, flash, jsonify, make_response, request, session
from flask.testing import FlaskClient

from devservers.processes import free_port
from practice_app import caching, documents, services
from practice_app.caching import DYNAMIC_CACHE_CONTROL, StaticViewReadRequest, cache_view
from practice_app.extensions import db
from practice_app.models import User
from tests.support.auth import bearer
from tests.support.clock import Clock

STATIC_CC = "public, no-cache"


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def calls() -> list[str]:
    return []


@pytest.fixture
def app(make_app: Callable[..., Flask], clock: Clock, calls: list[str]) -> Flask:
    """The app with a few test views, one per way of reading the request."""
    app = make_app(CACHE_CLOCK=clock)

    def view(name: str, reader: Callable[[], Any], **declaration: Any) -> None:
        def handler() -> Any:
            calls.append(name)
            read = reader()
            return jsonify(n=len(calls), read=repr(read)[:40])

        handler.__name__ = name.replace("-", "_")
        app.add_url_rule(f"/t/{name}", view_func=cache_view(**declaration)(handler))

    view("nothing", lambda: None)
    view("args", lambda: request.args.get("x"))
    view("query-string", lambda: request.query_string)
    view("url", lambda: request.url)
    view("headers", lambda: request.headers.get("X-Probe"))
    view("user-agent", lambda: request.user_agent.string)
    view("authorization", lambda: request.authorization)
    view("cookies", lambda: request.cookies.get("c"))
    view("session", lambda: session.get("k"))
    view("remote-addr", lambda: request.remote_addr)
    view("body", lambda: request.get_data())
    view("json", lambda: request.get_json(silent=True))
    view("form", lambda: request.form.get("f"))
    view("values", lambda: request.values.get("v"))
    view("forced-dynamic", lambda: None, mode="force-dynamic")
    view(
        "forced-static",
        lambda: (request.args.get("x"), request.headers.get("X-Probe")),
        mode="force-static",
    )
    view("strict", lambda: None, mode="error")
    view("strict-reader", lambda: request.args.get("x"), mode="error")
    view("revalidating", lambda: None, revalidate=60)

    def sets_cookie() -> Any:
        calls.append("cookie")
        response = make_response(jsonify(n=len(calls)))
        response.set_cookie("hello", "world")
        return response

    def flashes() -> Any:
        calls.append("flash")
        flash("hi")
        return jsonify(n=len(calls))

    def not_found() -> Any:
        calls.append("404")
        return jsonify(error="nope"), 404

    app.add_url_rule("/t/sets-cookie", view_func=sets_cookie)
    app.add_url_rule("/t/flashes", view_func=flashes)
    app.add_url_rule("/t/not-found", view_func=not_found)
    return app


def x_cache(response: Any) -> str | None:
    return response.headers.get("X-Cache")


def assert_dynamic(response: Any) -> None:
    assert response.status_code == 200
    assert "X-Cache" not in response.headers
    assert response.headers["Cache-Control"] == DYNAMIC_CACHE_CONTROL
    assert "ETag" not in response.headers


def test_auto_view_that_reads_nothing_is_stored(client: FlaskClient, calls: list[str]) -> None:
    first = client.get("/t/nothing")
    second = client.get("/t/nothing?x=1", headers={"X-Probe": "ignored"})
    assert (x_cache(first), x_cache(second)) == ("MISS", "HIT")
    assert first.data == second.data
    assert calls == ["nothing"]
    assert first.headers["Cache-Control"] == STATIC_CC
    assert first.headers["ETag"] == second.headers["ETag"]
    assert first.headers["ETag"].startswith('"') and not first.headers["ETag"].startswith("W/")
    assert "Vary" not in first.headers and "Vary" not in second.headers


@pytest.mark.parametrize(
    "name",
    [
        "args",
        "query-string",
        "url",
        "headers",
        "user-agent",
        "authorization",
        "cookies",
        "session",
        "remote-addr",
        "body",
        "json",
        "form",
        "values",
    ],
)
def test_auto_view_that_reads_the_request_is_never_stored(
    client: FlaskClient, calls: list[str], name: str
) -> None:
    for _ in range(3):
        assert_dynamic(client.get(f"/t/{name}?x=1", headers={"X-Probe": "p"}))
    assert calls == [name] * 3


def test_force_dynamic_is_never_stored(client: FlaskClient, calls: list[str]) -> None:
    for _ in range(3):
        assert_dynamic(client.get("/t/forced-dynamic"))
    assert len(calls) == 3


def test_force_static_is_stored_and_its_reads_see_empty_values(
    client: FlaskClient, calls: list[str]
) -> None:
    first = client.get("/t/forced-static?x=secret", headers={"X-Probe": "secret"})
    second = client.get("/t/forced-static?x=other", headers={"X-Probe": "other"})
    assert (x_cache(first), x_cache(second)) == ("MISS", "HIT")
    assert first.get_json()["read"] == "(None, None)"
    assert calls == ["forced-static"]


def test_error_mode_stores_a_view_that_reads_nothing(client: FlaskClient) -> None:
    assert [x_cache(client.get("/t/strict")) for _ in range(2)] == ["MISS", "HIT"]


def test_error_mode_reports_a_read_clearly(app: Flask, client: FlaskClient) -> None:
    with pytest.raises(StaticViewReadRequest, match=r"'strict_reader'.*read the request \(args"):
        client.get("/t/strict-reader?x=1")


def test_head_shares_the_get_entry(client: FlaskClient, calls: list[str]) -> None:
    head = client.head("/t/nothing")
    get = client.get("/t/nothing")
    assert (x_cache(head), x_cache(get)) == ("MISS", "HIT")
    assert head.data == b""
    assert head.headers["Content-Length"] == get.headers["Content-Length"] == str(len(get.data))
    assert head.headers["ETag"] == get.headers["ETag"]
    assert client.head("/t/nothing").headers["X-Cache"] == "HIT"
    assert calls == ["nothing"]


def test_if_none_match_gets_304_on_miss_and_hit(client: FlaskClient) -> None:
    # /api/problems renders the same bytes again after an invalidation
    etag = client.get("/api/problems").headers["ETag"]
    with client.application.app_context(), services.write_transaction():
        caching.invalidate_tag("problems")
    miss = client.get("/api/problems", headers={"If-None-Match": etag})
    assert (miss.status_code, x_cache(miss), miss.data) == (304, "MISS", b"")
    hit = client.get("/api/problems", headers={"If-None-Match": f'"other", {etag}'})
    assert (hit.status_code, x_cache(hit), hit.data) == (304, "HIT", b"")
    assert hit.headers["ETag"] == etag
    other = client.get("/api/problems", headers={"If-None-Match": '"other"'})
    assert (other.status_code, other.data) == (200, b"[]\n")


def test_age_counts_seconds_since_stored(client: FlaskClient, clock: Clock) -> None:
    assert client.get("/t/nothing").headers["Age"] == "0"
    clock.now += 42
    assert client.get("/t/nothing").headers["Age"] == "42"


def test_revalidate_serves_fresh_then_stale_once_then_the_new_one(
    client: FlaskClient, clock: Clock, calls: list[str]
) -> None:
    first = client.get("/t/revalidating")
    assert x_cache(first) == "MISS"
    assert first.headers["Cache-Control"] == "public, no-cache"
    clock.now += 59
    assert x_cache(client.get("/t/revalidating")) == "HIT"
    assert calls == ["revalidating"]
    clock.now += 2  # 61 s: expired
    stale = client.get("/t/revalidating", buffered=False)  # sent, not yet closed
    assert x_cache(stale) == "STALE"
    assert stale.data == first.data  # the old response, served at once...
    assert calls == ["revalidating"]
    stale.close()  # the server has sent it
    assert calls == ["revalidating"] * 2  # ...and the next one made after it was sent
    fresh = client.get("/t/revalidating")
    assert x_cache(fresh) == "HIT"
    assert fresh.get_json()["n"] == 2
    assert fresh.headers["Age"] == "0"


def test_only_one_regeneration_at_a_time(
    app: Flask, client: FlaskClient, clock: Clock, calls: list[str]
) -> None:
    client.get("/t/revalidating")
    clock.now += 61
    store = caching.bound(app).store
    assert store.try_lock("/t/revalidating")  # another worker is regenerating
    for _ in range(3):
        with client.get("/t/revalidating") as response:
            assert x_cache(response) == "STALE"
    assert calls == ["revalidating"]  # nobody else regenerated
    store.release("/t/revalidating")
    with client.get("/t/revalidating") as response:
        assert x_cache(response) == "STALE"
    assert calls == ["revalidating"] * 2
    assert x_cache(client.get("/t/revalidating")) == "HIT"


def test_a_lock_left_by_a_dead_worker_expires(
    app: Flask, client: FlaskClient, clock: Clock, calls: list[str]
) -> None:
    client.get("/t/revalidating")
    clock.now += 61
    store = caching.bound(app).store
    store.lock_seconds = 1  # a lock Redis lets expire in a second of real time
    assert store.try_lock("/t/revalidating")
    client.get("/t/revalidating").close()  # held: served stale, not regenerated
    assert calls == ["revalidating"]
    # A lock file's expiry is by the store's clock, the injected one; a lock in
    # Redis is its key's, which Redis drops after lock_seconds of real time.
    clock.now += store.lock_seconds + 1
    time.sleep(store.lock_seconds + 0.1)
    client.get("/t/revalidating").close()
    assert calls == ["revalidating"] * 2


@pytest.mark.parametrize("path", ["/t/sets-cookie", "/t/flashes", "/t/not-found"])
def test_cookies_flashes_and_errors_are_never_stored(
    client: FlaskClient, calls: list[str], path: str
) -> None:
    for _ in range(2):
        response = client.get(path)
        assert "X-Cache" not in response.headers
        assert response.headers["Cache-Control"] == DYNAMIC_CACHE_CONTROL
    assert len(calls) == 2


def test_a_csrf_token_in_the_page_makes_it_dynamic(app: Flask, calls: list[str]) -> None:
    from flask_wtf.csrf import generate_csrf

    @cache_view()
    def form_page() -> str:
        calls.append("form")
        return f"<input name=csrf_token value={generate_csrf()}>"

    app.add_url_rule("/t/form", view_func=form_page)
    client = app.test_client()
    for _ in range(2):
        assert "X-Cache" not in client.get("/t/form").headers
    assert calls == ["form", "form"]


def test_post_beside_a_cached_get_on_one_url(
    client: FlaskClient, make_user: Callable[..., int], make_token: Callable[[str], str]
) -> None:
    # Next.js 14 makes a route.ts dynamic as soon as it exports POST; here the
    # declaration is per view, so GET /api/problems stays static.
    make_user("alice")
    token = make_token("alice")
    assert x_cache(client.get("/api/problems")) == "MISS"
    assert x_cache(client.get("/api/problems")) == "HIT"
    created = client.post("/api/problems", json={"name": "Fresh"}, headers=bearer(token))
    assert created.status_code == 201
    assert "X-Cache" not in created.headers
    after = client.get("/api/problems")
    assert x_cache(after) == "MISS"
    assert [p["name"] for p in after.get_json()] == ["Fresh"]
    assert x_cache(client.get("/api/problems")) == "HIT"


def test_every_mutation_invalidates_list_detail_and_stats(
    client: FlaskClient, make_user: Callable[..., int], make_token: Callable[[str], str]
) -> None:
    make_user("alice")
    token = make_token("alice")
    pid = client.post("/api/problems", json={"name": "One"}, headers=bearer(token)).get_json()["id"]

    def warm() -> None:
        for path in ("/api/problems", f"/api/problems/{pid}", "/api/stats"):
            client.get(path)
            assert x_cache(client.get(path)) == "HIT"

    warm()
    client.patch(
        f"/api/problems/{pid}", json={"name": "Two", "difficulty": "hard"}, headers=bearer(token)
    )
    assert client.get(f"/api/problems/{pid}").get_json()["name"] == "Two"
    assert client.get("/api/problems").get_json()[0]["name"] == "Two"
    assert client.get("/api/stats").get_json()["by_difficulty"]["hard"] == 1
    warm()
    client.put(f"/api/problems/{pid}", json={"name": "Three"}, headers=bearer(token))
    assert client.get(f"/api/problems/{pid}").get_json()["difficulty"] == "medium"
    assert client.get("/api/problems").get_json()[0]["name"] == "Three"
    warm()
    client.delete(f"/api/problems/{pid}", headers=bearer(token))
    assert client.get(f"/api/problems/{pid}").status_code == 404
    assert client.get("/api/problems").get_json() == []
    assert client.get("/api/stats").get_json()["total"] == 0


def test_a_failed_write_leaves_the_cache_alone(
    client: FlaskClient, make_user: Callable[..., int], make_token: Callable[[str], str]
) -> None:
    make_user("alice")
    token = make_token("alice")
    client.post("/api/problems", json={"name": "One"}, headers=bearer(token))
    client.get("/api/problems")
    assert (
        client.post("/api/problems", json={"name": "ONE"}, headers=bearer(token)).status_code == 409
    )
    assert x_cache(client.get("/api/problems")) == "HIT"


def test_a_render_that_raced_a_write_is_never_served(
    app: Flask, make_app: Callable[..., Flask], make_user: Callable[..., int]
) -> None:
    # Another app on the same database stands for another gunicorn worker.
    other = make_app()
    author_id = make_user("alice")
    renders: list[list[str]] = []

    def racing() -> Any:
        names = [problem["name"] for problem in documents.list_documents()]
        if not renders:
            # While this render holds the old rows, a write commits elsewhere.
            with other.app_context():
                author = db.session.get(User, author_id)
                assert author is not None
                services.create_problem(author, {"name": "Committed meanwhile"})
        renders.append(names)
        return jsonify(names)

    for worker in (app, other):  # every worker has the same views
        worker.add_url_rule("/t/racing", view_func=cache_view(tags=("problems",))(racing))
    client = app.test_client()
    first = client.get("/t/racing")
    # Answered as it was made, never stored: the write moved the versions it read,
    # so it could not claim the next one (caching.render._claim).
    assert (x_cache(first), first.get_json()) == (None, [])
    assert first.headers["Cache-Control"].startswith("private")
    second = client.get("/t/racing")
    assert (x_cache(second), second.get_json()) == ("MISS", ["Committed meanwhile"])
    assert x_cache(client.get("/t/racing")) == "HIT"


@pytest.mark.sqlite_only(reason="a cache directory that cannot be made: the file cache")
def test_an_unwritable_cache_serves_dynamically_with_a_warning(
    make_app: Callable[..., Flask], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the cache directory should be")
    app = make_app(CACHE_DIR=str(blocker / "cache"))
    client = app.test_client()
    with caplog.at_level(logging.WARNING, logger="practice_app.caching"):
        for _ in range(2):
            response = client.get("/api/clock/static")
            assert response.status_code == 200
            assert "X-Cache" not in response.headers
    assert "cache" in caplog.text and "dynamically" in caplog.text


def test_redis_down_serves_dynamically_with_a_warning(
    make_app: Callable[..., Flask], caplog: pytest.LogCaptureFixture
) -> None:
    app = make_app(CACHE_TYPE="RedisCache", CACHE_REDIS_URL=f"redis://127.0.0.1:{free_port()}/0")
    with caplog.at_level(logging.WARNING, logger="practice_app.caching"):
        response = app.test_client().get("/api/problems")
    assert response.status_code == 200
    assert "X-Cache" not in response.headers
    assert "dynamically" in caplog.text


def test_declarations_are_checked() -> None:
    with pytest.raises(ValueError, match="cache mode"):
        cache_view("sometimes")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="revalidate"):
        cache_view("force-dynamic", revalidate=10)
    with pytest.raises(ValueError, match="revalidate"):
        cache_view(revalidate=0)


def test_cache_clear_command_drops_the_static_clock(app: Flask) -> None:
    client = app.test_client()
    first = client.get("/api/clock/static").get_json()["now"]
    assert client.get("/api/clock/static").get_json()["now"] == first
    result = app.test_cli_runner().invoke(args=["cache", "clear"])
    assert result.exit_code == 0, result.output
    again = client.get("/api/clock/static")
    assert x_cache(again) == "MISS"


def test_a_worker_never_serves_its_own_copy_of_a_changed_entry(
    make_app: Callable[..., Flask], make_user: Callable[..., int], make_token: Callable[[str], str]
) -> None:
    # Two apps on one database and one cache directory stand for two gunicorn workers.
    first, second = make_app().test_client(), make_app().test_client()
    make_user("alice")
    token = make_token("alice")
    assert x_cache(first.get("/api/problems")) == "MISS"
    assert x_cache(first.get("/api/problems")) == "HIT"  # now kept unpickled by the first
    second.post("/api/problems", json={"name": "Added elsewhere"}, headers=bearer(token))
    assert x_cache(second.get("/api/problems")) == "MISS"  # the second stores a new entry
    seen = first.get("/api/problems")
    assert x_cache(seen) == "HIT"
    assert [p["name"] for p in seen.get_json()] == ["Added elsewhere"]
    second.post("/api/problems", json={"name": "And another"}, headers=bearer(token))
    assert len(first.get("/api/problems").get_json()) == 2


def test_a_same_size_change_is_seen_by_another_worker(
    make_app: Callable[..., Flask], make_user: Callable[..., int], make_token: Callable[[str], str]
) -> None:
    first, second = make_app().test_client(), make_app().test_client()
    make_user("alice")
    token = make_token("alice")
    pid = second.post(
        "/api/problems", json={"name": "Sized", "difficulty": "easy"}, headers=bearer(token)
    ).get_json()["id"]
    for _ in range(2):
        assert first.get(f"/api/problems/{pid}").get_json()["difficulty"] == "easy"
    for level in ("hard", "easy", "hard"):  # "easy" and "hard": bodies of one size
        second.patch(f"/api/problems/{pid}", json={"difficulty": level}, headers=bearer(token))
        second.get(f"/api/problems/{pid}")  # the other worker stores the new entry at once
        assert first.get(f"/api/problems/{pid}").get_json()["difficulty"] == level


def test_a_deploy_of_other_code_starts_with_an_empty_cache(make_app: Callable[..., Flask]) -> None:
    old = make_app(CACHE_VERSION="build-1").test_client()
    assert x_cache(old.get("/api/clock/static")) == "MISS"
    assert x_cache(old.get("/api/clock/static")) == "HIT"
    same = make_app(CACHE_VERSION="build-1").test_client()
    assert x_cache(same.get("/api/clock/static")) == "HIT"
    new = make_app(CACHE_VERSION="build-2").test_client()
    assert x_cache(new.get("/api/clock/static")) == "MISS"


def test_the_default_version_is_a_hash_of_the_app_package(app: Flask) -> None:
    assert caching.code_version(app) == caching.code_version(app)
    assert len(caching.code_version(app)) == 16


def test_shared_max_age_opts_into_bounded_staleness(make_app: Callable[..., Flask]) -> None:
    client = make_app(CACHE_SHARED_MAX_AGE=600).test_client()
    for path, seconds in (("/api/clock/static", 600), ("/api/clock/revalidate", 300)):
        for state in ("MISS", "HIT"):
            response = client.get(path)
            assert x_cache(response) == state
            expected = f"public, s-maxage={seconds}, stale-while-revalidate={seconds}"
            assert response.headers["Cache-Control"] == expected


def test_cache_revalidate_sets_a_revalidating_views_period_and_refuses_others(
    make_app: Callable[..., Flask],
) -> None:
    app = make_app(CACHE_REVALIDATE={"api.clock_revalidate": 5})
    policy = caching.policy_for(app, "api.clock_revalidate", "GET")
    assert policy is not None and policy.revalidate == 5
    response = app.test_client().get("/api/clock/revalidate")
    assert response.headers["X-Cache"] == "MISS"
    for endpoint in ("api.problem_list", "api.clock_static", "api.nope"):
        with pytest.raises(ValueError, match=f"CACHE_REVALIDATE: '{endpoint}' is not a view"):
            make_app(CACHE_REVALIDATE={endpoint: 5})
