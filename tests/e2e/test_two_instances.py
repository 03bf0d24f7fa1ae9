"""End to end: two gunicorn masters, as on two machines, sharing one database and one cache.

A write through one instance is seen by the very next GET on the other, on
every one of its workers, although that instance had the URL cached: under
``PRACTICE_TEST_BACKEND=postgres-redis`` they share a PostgreSQL database and
a Redis key prefix (several machines); in the SQLite run, the SQLite file and
the cache directory (two servers on one machine).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.support.http import create_token
from tests.support.servers import LiveServer, start_server, stop_server
from tests.support.workers import LOGGED, read_everywhere

# Both sign sessions alike, as the instances of one deploy do.
SECRET = {"FLASK_SECRET_KEY": "one-secret-for-every-instance-of-the-deploy"}


def shared_backend(server: LiveServer) -> dict[str, str]:
    """The database and cache settings of ``server``, for a second instance to share."""
    shared = {
        key: value
        for key, value in server.env.items()
        if key == "FLASK_SQLALCHEMY_DATABASE_URI" or key.startswith("FLASK_CACHE_")
    }
    if "FLASK_CACHE_TYPE" not in shared:  # the file cache, in the first one's instance folder
        shared["FLASK_CACHE_DIR"] = str(server.instance / "cache")
    return shared


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveServer, LiveServer]]:
    folder: Path = tmp_path_factory.mktemp("two")
    first = start_server(folder / "a", workers=2, extra_env={**LOGGED, **SECRET})
    try:
        second = start_server(
            folder / "b", workers=2, extra_env={**LOGGED, **SECRET, **shared_backend(first)}
        )
        try:
            yield first, second
        finally:
            stop_server(second)
    finally:
        stop_server(first)


def names(response: requests.Response) -> list[str]:
    assert response.status_code == 200, response.text
    return [problem["name"] for problem in response.json()]


def test_the_instances_share_the_database_and_the_cache(
    pair: tuple[LiveServer, LiveServer],
) -> None:
    first, second = pair
    assert first.env["FLASK_SQLALCHEMY_DATABASE_URI"] == second.env["FLASK_SQLALCHEMY_DATABASE_URI"]
    assert first.process.pid != second.process.pid
    # Rendered by the first, served from the cache by the second.
    assert requests.get(first.url("/api/clock/static"), timeout=10).headers["X-Cache"] == "MISS"
    assert requests.get(second.url("/api/clock/static"), timeout=10).headers["X-Cache"] == "HIT"


@pytest.mark.parametrize("direction", ["first-writes", "second-writes"])
def test_a_write_through_one_instance_is_seen_by_the_next_get_on_the_other(
    pair: tuple[LiveServer, LiveServer], direction: str
) -> None:
    writer, reader = pair if direction == "first-writes" else pair[::-1]
    auth = create_token(writer, f"writer-{direction}")
    made = requests.post(
        writer.url("/api/problems"), json={"name": f"Made {direction}"}, headers=auth, timeout=10
    )
    assert made.status_code == 201, made.text
    location = made.headers["Location"]
    before = names(requests.get(reader.url("/api/problems"), timeout=10))
    assert f"Made {direction}" in before

    def cached(response: requests.Response) -> None:
        assert names(response) == before

    # Every worker of the reader holds the list and the problem, from the cache.
    read_everywhere(reader, "/api/problems", cached)
    read_everywhere(reader, location, lambda r: None)

    renamed = requests.patch(
        writer.url(location), json={"name": f"Renamed {direction}"}, headers=auth, timeout=10
    )
    assert renamed.status_code == 200, renamed.text
    # The very next GET on the other instance, without a retry, shows the write.
    first_read = requests.get(reader.url(location), timeout=10)
    assert first_read.status_code == 200
    assert first_read.json()["name"] == f"Renamed {direction}"
    after = [f"Renamed {direction}" if name == f"Made {direction}" else name for name in before]
    assert names(requests.get(reader.url("/api/problems"), timeout=10)) == after

    def shows_rename(response: requests.Response) -> None:
        assert names(response) == after

    # And so does every worker of it, each answering from the cache again.
    read_everywhere(reader, "/api/problems", shows_rename)

    deleted = requests.delete(writer.url(location), headers=auth, timeout=10)
    assert deleted.status_code == 204
    gone = requests.get(reader.url(location), timeout=10)
    assert gone.status_code == 404, gone.text
    read_everywhere(reader, location, lambda r: None, status=404, cached=False)
    assert f"Renamed {direction}" not in names(
        requests.get(reader.url("/api/problems"), timeout=10)
    )
