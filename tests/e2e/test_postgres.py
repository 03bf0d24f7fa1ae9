"""The same app on PostgreSQL, by configuration alone: migrations, API, races, search.

Needs Debian's `postgresql` package; e2e/conftest.py's ``postgres`` fixture makes a
cluster in a temporary folder and starts it on a free port for this module.
"""

from __future__ import annotations

import concurrent.futures
import itertools
import time
from collections.abc import Iterator

import pytest
import requests

from devservers.postgres import Postgres
from tests.support import races
from tests.support.servers import LiveServer, start_server, stop_server, worker_pids

pytestmark = pytest.mark.own_backend(reason="a PostgreSQL cluster of its own, stopped and started")


@pytest.fixture(scope="module")
def pg_server(postgres: Postgres, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    server = start_server(
        tmp_path_factory.mktemp("pg"),
        workers=3,
        extra_env={"FLASK_SQLALCHEMY_DATABASE_URI": postgres.url},
    )
    yield server
    stop_server(server)


@pytest.fixture(scope="module")
def token(pg_server: LiveServer) -> str:
    return pg_server.user_token("pg", "pg-password-1")


def test_seed_and_list_on_postgres(pg_server: LiveServer) -> None:
    assert pg_server.flask("seed").returncode == 0
    assert "Added 0" in pg_server.flask("seed").stdout
    problems = requests.get(pg_server.url("/api/problems"), timeout=10).json()
    assert len(problems) >= 30
    assert [p["id"] for p in problems] == sorted(p["id"] for p in problems)


def test_crud_and_search_on_postgres(pg_server: LiveServer, token: str) -> None:
    auth = {"Authorization": f"Bearer {token}"}
    url = pg_server.url("/api/problems")
    created = requests.post(
        url, json={"name": "Émile 100% Done", "tags": ["pg"]}, headers=auth, timeout=10
    )
    assert created.status_code == 201
    pid = created.json()["id"]
    assert created.json()["created_at"].endswith("Z")
    assert (
        requests.post(url, json={"name": "émile 100% done"}, headers=auth, timeout=10).status_code
        == 409
    )
    found = requests.get(
        pg_server.url("/api/search"), params={"q": "éMILE", "tag": "PG"}, timeout=10
    )
    assert [p["id"] for p in found.json()] == [pid]
    literal = requests.get(pg_server.url("/api/search"), params={"q": "0% d"}, timeout=10)
    assert [p["id"] for p in literal.json()] == [pid]
    assert requests.get(pg_server.url("/api/search"), params={"q": "_"}, timeout=10).json() == []
    patched = requests.patch(f"{url}/{pid}", json={"difficulty": "hard"}, headers=auth, timeout=10)
    assert patched.status_code == 200
    assert requests.delete(f"{url}/{pid}", headers=auth, timeout=10).status_code == 204
    assert requests.get(f"{url}/{pid}", timeout=10).status_code == 404


def test_races_on_postgres(pg_server: LiveServer, token: str) -> None:
    auth = {"Authorization": f"Bearer {token}"}

    def create(name: str) -> int:
        return requests.post(
            pg_server.url("/api/problems"), json={"name": name}, headers=auth, timeout=30
        ).status_code

    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        duplicates = sorted(pool.map(create, ["Same Name"] * 8))
        distinct = list(pool.map(create, [f"Distinct {i}" for i in range(30)]))
    assert duplicates == [201] + [409] * 7
    assert distinct == [201] * 30
    assert requests.get(pg_server.url("/healthz"), timeout=10).json() == {"status": "ok"}


def test_conditional_and_idempotent_writes_race_safely_on_postgres(
    pg_server: LiveServer, token: str
) -> None:
    races.conditional_writes_with_one_etag(pg_server, token, rounds=15, writers=2)
    races.conditional_writes_with_one_etag(pg_server, token, rounds=5, writers=6)
    races.idempotent_posts_with_one_key(pg_server, token, rounds=5, clients=10)


def test_healthz_and_the_api_go_down_with_the_database_and_recover(
    pg_server: LiveServer, postgres: Postgres, token: str
) -> None:
    # Last in the module: it stops the cluster, then starts it again.
    auth = {"Authorization": f"Bearer {token}"}
    made = requests.post(
        pg_server.url("/api/problems"), json={"name": "Written Before"}, headers=auth, timeout=10
    )
    assert made.status_code == 201
    location = pg_server.url(made.headers["Location"])
    workers = worker_pids(pg_server)
    assert requests.get(pg_server.url("/healthz"), timeout=10).status_code == 200
    postgres.stop()
    health = requests.get(pg_server.url("/healthz"), timeout=30)
    assert health.status_code == 503
    assert health.json()["status"] != "ok"
    broken = requests.get(pg_server.url("/api/search"), params={"q": "a"}, timeout=30)
    assert broken.status_code == 500
    assert broken.json() == {"error": "Something went wrong on our side."}
    assert "Traceback" not in broken.text

    tries = itertools.count()

    def attempts() -> list[requests.Response]:
        return [
            requests.get(pg_server.url("/healthz"), timeout=30),
            requests.get(location, timeout=30),
            requests.post(
                pg_server.url("/api/problems"),
                json={"name": f"Written After {next(tries)}"},
                headers=auth,
                timeout=30,
            ),
        ]

    def failed_cleanly(response: requests.Response) -> bool:
        """A 5xx with a JSON error and no stack trace."""
        return (
            response.status_code in (500, 503)
            and "error" in response.json()
            and "Traceback" not in response.text
        )

    for _ in range(3):
        down = attempts()
        assert all(failed_cleanly(response) for response in down), [r.text for r in down]

    # Back on its own, without restarting gunicorn: /healthz, a read, a write.
    postgres.start()
    deadline = time.monotonic() + 30
    while True:
        healthz, read, write = attempts()
        if (healthz.status_code, read.status_code, write.status_code) == (200, 200, 201):
            break
        # A connection pooled before the restart may fail once, cleanly.
        for response in (healthz, read, write):
            assert response.ok or failed_cleanly(response), response.text
        assert time.monotonic() < deadline, "the app did not recover"
        time.sleep(0.2)
    assert read.json()["name"] == "Written Before"
    assert requests.get(pg_server.url(write.headers["Location"]), timeout=10).status_code == 200
    assert pg_server.process.poll() is None
    assert worker_pids(pg_server) == workers
