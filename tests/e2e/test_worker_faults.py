"""A gunicorn worker killed (SIGKILL) in the middle of a write load, on SQLite.

Several clients create and rename problems through the API while a worker is
killed, twice. Every write that was answered 2xx is there afterwards, the
master starts new workers and the app keeps answering, and SQLite's
``PRAGMA integrity_check`` says ok. gunicorn.conf.py as it is (threads), with
3 workers.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests

from tests.support.auth import bearer
from tests.support.servers import (
    LiveServer,
    make_run_settings,
    start_server,
    stop_server,
    worker_pids,
)

WORKERS = 3
WRITERS = 6


def wait_for_workers(server: LiveServer, gone: set[int], timeout: float = 20) -> set[int]:
    """Wait until the master has ``WORKERS`` workers again, none of them in ``gone``."""
    deadline = time.monotonic() + timeout
    while True:
        pids = worker_pids(server)
        if len(pids) == WORKERS and not pids & gone:
            return pids
        assert time.monotonic() < deadline, f"workers {pids}, killed {gone}"
        time.sleep(0.1)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    # Hundreds of writes with one token: no rate limit in the way.
    live = start_server(
        tmp_path_factory.mktemp("killed"),
        workers=WORKERS,
        extra_env={"FLASK_RATELIMIT_ENABLED": "false"},
    )
    yield live
    stop_server(live)


@dataclass
class Writer:
    """Creates problems and renames each once; remembers what was acknowledged."""

    server: LiveServer
    token: str
    number: int
    # Location -> the names it may have: the acknowledged one first, then any
    # rename sent after it that got no answer (it may or may not have committed).
    made: dict[str, list[str]] = field(default_factory=dict)
    unanswered: int = 0
    statuses: list[int] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def send(self, method: str, url: str, name: str) -> requests.Response | None:
        try:
            response = requests.request(
                method, url, json={"name": name}, headers=bearer(self.token), timeout=15
            )
        except (requests.ConnectionError, requests.exceptions.ChunkedEncodingError):
            # Its worker was killed before it answered, or in the middle of the answer.
            self.unanswered += 1
            return None
        except requests.RequestException as exc:  # a timeout: reported by the test
            self.errors.append(repr(exc))
            return None
        self.statuses.append(response.status_code)
        return response

    def run(self, stop: threading.Event) -> None:
        count = 0
        while not stop.is_set():
            count += 1
            name = f"Writer {self.number} problem {count}"
            created = self.send("POST", self.server.url("/api/problems"), name)
            if created is None or created.status_code != 201:
                continue
            location = created.headers["Location"]
            self.made[location] = [name]
            renamed = self.send("PATCH", self.server.url(location), name + " renamed")
            if renamed is None:
                self.made[location].append(name + " renamed")
            elif renamed.status_code == 200:
                self.made[location] = [name + " renamed"]


@pytest.mark.sqlite_only(reason="ends with PRAGMA integrity_check on the SQLite file")
def test_writes_answered_2xx_survive_killed_workers(server: LiveServer) -> None:
    token = server.user_token("survivor")
    first = wait_for_workers(server, set())
    stop = threading.Event()
    writers = [Writer(server, token, number) for number in range(WRITERS)]
    threads = [threading.Thread(target=writer.run, args=(stop,)) for writer in writers]
    for thread in threads:
        thread.start()
    killed: set[int] = set()
    try:
        for _ in range(2):
            time.sleep(1.5)
            victim = min(worker_pids(server) - killed)  # one that has been serving
            os.kill(victim, signal.SIGKILL)
            killed.add(victim)
            wait_for_workers(server, killed)
        time.sleep(1.5)  # and the load goes on against the new workers
    finally:
        stop.set()
        for thread in threads:
            thread.join(30)

    after = wait_for_workers(server, killed)
    assert killed <= first
    assert len(after - first) == 2
    assert f"Worker (pid:{victim}) was sent SIGKILL!" in server.log()

    # Answered writes were all 2xx; only requests the killed workers held (a
    # worker takes as many connections as it has threads) went unanswered.
    assert [writer.errors for writer in writers] == [[]] * WRITERS
    statuses = [status for writer in writers for status in writer.statuses]
    assert set(statuses) <= {200, 201}, sorted(set(statuses))
    unanswered = sum(writer.unanswered for writer in writers)
    assert unanswered <= len(killed) * make_run_settings()["threads"], unanswered
    made = {location: names for writer in writers for location, names in writer.made.items()}
    assert len(made) > 50, "the load was meant to be a load"

    # Every acknowledged write is there: the problem, with its acknowledged name
    # (or a rename whose answer was lost with its worker).
    with requests.Session() as session:
        for location, names in made.items():
            response = session.get(server.url(location), timeout=10)
            assert response.status_code == 200, (location, response.text)
            assert response.json()["name"] in names, (location, names, response.json())
        listed = {problem["id"] for problem in session.get(server.url("/api/problems")).json()}
    assert {int(location.rsplit("/", 1)[1]) for location in made} <= listed
    assert requests.get(server.url("/healthz"), timeout=10).json() == {"status": "ok"}

    database = Path(server.env["FLASK_SQLALCHEMY_DATABASE_URI"].removeprefix("sqlite:///"))
    with sqlite3.connect(database) as db:
        assert db.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert db.execute("PRAGMA foreign_key_check").fetchall() == []
    assert "database is locked" not in server.log()
