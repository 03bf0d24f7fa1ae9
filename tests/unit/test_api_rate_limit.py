"""API writes are rate limited per token (Flask-Limiter), reads are not (test client)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from unittest import mock

from flask import Flask

from practice_app.extensions import limiter
from practice_app.rate_limits import SQLiteStorage
from tests.support.auth import bearer


def test_writes_over_the_limit_get_a_json_429_per_token(
    make_app: Callable[..., Flask], make_user: Callable[..., int], make_token: Callable[[str], str]
) -> None:
    app = make_app(RATELIMIT_ENABLED=True, API_WRITE_RATE_LIMIT="3 per minute")
    client = app.test_client()
    make_user("alice")
    first, second = make_token("alice"), make_token("alice")
    statuses = [
        client.post("/api/problems", json={"name": f"Limited {i}"}, headers=bearer(first))
        for i in range(3)
    ]
    assert [s.status_code for s in statuses] == [201] * 3
    assert statuses[-1].headers["X-RateLimit-Remaining"] == "0"
    refused = client.patch("/api/problems/1", json={"difficulty": "hard"}, headers=bearer(first))
    assert refused.status_code == 429
    assert refused.mimetype == "application/json"
    assert set(refused.get_json()) == {"error"}
    assert int(refused.headers["Retry-After"]) > 0
    # Another token of the same user, and reads, are not held back.
    other = client.post("/api/problems", json={"name": "Other token"}, headers=bearer(second))
    assert other.status_code == 201
    assert [client.get("/api/problems").status_code for _ in range(5)] == [200] * 5
    assert client.get("/api/search?q=limited").status_code == 200


def test_the_limit_can_be_turned_off(
    make_app: Callable[..., Flask], make_user: Callable[..., int], make_token: Callable[[str], str]
) -> None:
    app = make_app(RATELIMIT_ENABLED=False, API_WRITE_RATE_LIMIT="1 per minute")
    client = app.test_client()
    make_user("alice")
    token = make_token("alice")
    for i in range(3):
        response = client.post("/api/problems", json={"name": f"Free {i}"}, headers=bearer(token))
        assert response.status_code == 201


def test_the_default_storage_is_a_private_file_and_starts_no_thread(
    make_app: Callable[..., Flask], make_user: Callable[..., int], make_token: Callable[[str], str]
) -> None:
    """limits' memory storage starts a Timer thread per write 10 ms apart; the default does not."""
    app = make_app(RATELIMIT_ENABLED=True, API_WRITE_RATE_LIMIT="1000 per minute")
    assert isinstance(limiter.storage, SQLiteStorage)
    assert limiter.storage.path == Path(app.instance_path) / "rate-limits.sqlite3"
    client = app.test_client()
    make_user("alice")
    token = make_token("alice")
    started: list[threading.Thread] = []
    real_start = threading.Thread.start

    def counting_start(thread: threading.Thread) -> None:
        started.append(thread)
        real_start(thread)

    with mock.patch.object(threading.Thread, "start", counting_start):
        for i in range(5):
            time.sleep(0.02)
            made = client.post(
                "/api/problems", json={"name": f"Counted {i}"}, headers=bearer(token)
            )
            assert made.status_code == 201
            assert made.headers["X-RateLimit-Remaining"] == str(999 - i)
    assert started == []
    assert limiter.storage.path.stat().st_mode & 0o077 == 0


def test_the_storage_counts_one_window_per_key_and_starts_again_after_it(tmp_path: Path) -> None:
    storage = SQLiteStorage(f"sqlite://{tmp_path / 'limits.sqlite3'}")
    other = SQLiteStorage(f"sqlite://{tmp_path / 'limits.sqlite3'}")  # another worker
    # A window of 2 s: the writes and reads below must all fall in it, which on a
    # loaded machine (two suites on two cores) a window of 1 s did not leave room for.
    window = 2
    assert [storage.incr("k", window) for _ in range(3)] == [1, 2, 3]
    assert other.incr("k", window) == 4
    assert other.get("k") == 4 and storage.get("j") == 0
    assert time.time() < storage.get_expiry("k") <= time.time() + window
    time.sleep(window + 0.05)
    assert storage.get("k") == 0
    assert other.incr("k", window, amount=2) == 2  # a new window
    storage.clear("k")
    assert other.get("k") == 0
    assert storage.check()
