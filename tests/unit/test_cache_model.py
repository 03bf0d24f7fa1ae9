"""The cache as a model: random writes, reads by every spelling and backend faults.

Three apps on one database and one cache directory stand for three gunicorn
workers. Hypothesis interleaves writes through any of them, reads of the
list, the counts and each problem through any of them and by any spelling,
and faults of the shared backend (it refuses writes, as a full disk does; or
it fails everything, as a stopped Redis does; or it comes back). After every
step each read must show exactly what the database holds.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, rule
from werkzeug.test import TestResponse

from practice_app import caching, documents
from tests.support.auth import bearer


class FaultyBackend:
    """A cache backend whose faults a test turns on and off; shared by the workers."""

    def __init__(self, real: Any, faults: dict[str, str | None]) -> None:
        self.real = real
        self.faults = faults

    def _check(self, writing: bool) -> None:
        mode = self.faults["mode"]
        if mode == "down" or (mode == "full" and writing):
            raise OSError(f"injected fault: {mode}")

    def get(self, key: str) -> Any:
        self._check(writing=False)
        return self.real.get(key)

    def set(self, key: str, value: Any, timeout: int | None = None) -> Any:
        self._check(writing=True)
        return self.real.set(key, value, timeout=timeout)

    def add(self, key: str, value: Any, timeout: int | None = None) -> Any:
        self._check(writing=True)
        return self.real.add(key, value, timeout=timeout)

    def delete(self, key: str) -> Any:
        if self.faults["mode"] == "down":
            raise OSError("injected fault: down")
        return self.real.delete(key)

    def clear(self) -> Any:
        return self.real.clear()


def spell(path: str, how: int) -> str:
    """One of several spellings of ``path`` that route to the same view."""
    head, _, last = path.rpartition("/")
    if how == 1:
        return "//" + path.lstrip("/")
    if how == 2 and last.isdigit():
        return f"{head}/00{last}"
    if how == 3:
        return "///" + path.lstrip("/")
    return path


def send(client: FlaskClient, method: str, path: str, **kwargs: Any) -> TestResponse:
    """Send ``path`` as PATH_INFO exactly (the test client would read ``//api`` as a host)."""
    return client.open(
        "/", method=method, environ_overrides={"PATH_INFO": path}, follow_redirects=True, **kwargs
    )


def test_every_read_shows_the_database(
    make_app: Callable[..., Flask],
    make_user: Callable[..., int],
    make_token: Callable[[str], str],
) -> None:
    faults: dict[str, str | None] = {"mode": None}
    apps = [make_app(CACHE_RETRY_SECONDS=0) for _ in range(3)]
    for app in apps:
        store = caching.bound(app).store
        store.backend = FaultyBackend(store.backend, faults)
    clients = [app.test_client() for app in apps]
    make_user("alice")
    auth = bearer(make_token("alice"))
    truth_app = apps[0]

    def truth() -> dict[int, str]:
        with truth_app.app_context():
            return {problem["id"]: problem["name"] for problem in documents.list_documents()}

    class Workers(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            self.counter = 0
            self.ids: list[int] = []

        @initialize()
        def start(self) -> None:
            # Each example starts from an empty catalogue, so a replay replays.
            faults["mode"] = None
            for problem_id in truth():
                clients[0].delete(f"/api/problems/{problem_id}", headers=auth)
            self.ids = []

        def client(self, worker: int) -> FlaskClient:
            return clients[worker % len(clients)]

        @rule(worker=st.integers(0, 2))
        def create(self, worker: int) -> None:
            self.counter += 1
            made = self.client(worker).post(
                "/api/problems", json={"name": f"Model {id(self)} {self.counter}"}, headers=auth
            )
            assert made.status_code == 201, made.text
            self.ids.append(made.get_json()["id"])

        @rule(worker=st.integers(0, 2), pick=st.integers(0, 1000), how=st.integers(0, 3))
        def rename(self, worker: int, pick: int, how: int) -> None:
            if not self.ids:
                return
            self.counter += 1
            problem_id = self.ids[pick % len(self.ids)]
            path = spell(f"/api/problems/{problem_id}", how)
            renamed = send(
                self.client(worker),
                "PATCH",
                path,
                json={"name": f"Renamed {id(self)} {self.counter}"},
                headers=auth,
            )
            assert renamed.status_code in (200, 404), renamed.text

        @rule(worker=st.integers(0, 2), pick=st.integers(0, 1000))
        def delete(self, worker: int, pick: int) -> None:
            if not self.ids:
                return
            problem_id = self.ids.pop(pick % len(self.ids))
            gone = self.client(worker).delete(f"/api/problems/{problem_id}", headers=auth)
            assert gone.status_code in (204, 404), gone.text
            self.ids.append(problem_id)  # still read: it must stay 404

        @rule(mode=st.sampled_from([None, None, "full", "down"]))
        def fault(self, mode: str | None) -> None:
            faults["mode"] = mode

        @rule(worker=st.integers(0, 2), how=st.integers(0, 3))
        def read_list(self, worker: int, how: int) -> None:
            response = send(self.client(worker), "GET", spell("/api/problems", how))
            assert response.status_code == 200
            shown = {p["id"]: p["name"] for p in response.get_json()}
            assert shown == truth(), response.headers.get("X-Cache")
            stats = send(self.client(worker), "GET", spell("/api/stats", how))
            assert stats.get_json()["total"] == len(shown)

        @rule(worker=st.integers(0, 2), pick=st.integers(0, 1000), how=st.integers(0, 3))
        def read_one(self, worker: int, pick: int, how: int) -> None:
            if not self.ids:
                return
            problem_id = self.ids[pick % len(self.ids)]
            response = send(self.client(worker), "GET", spell(f"/api/problems/{problem_id}", how))
            expected = truth().get(problem_id)
            if expected is None:
                assert response.status_code == 404
            else:
                assert response.status_code == 200
                assert response.get_json()["name"] == expected, response.headers.get("X-Cache")

    Workers.TestCase.settings = settings(
        max_examples=40, stateful_step_count=30, deadline=None, database=None
    )
    Workers.TestCase().runTest()
