"""Writes under faults, over HTTP against gunicorn with 3 workers on SQLite.

A client that sends its body slowly, and a sign-in checking a password, hold
no lock: everyone else's writes go on. Concurrent edits of one problem never
give a 500. A body over 1 MiB is a 413 however it is sent, and writes nothing.
"""

from __future__ import annotations

import concurrent.futures
import json
import socket
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests
from werkzeug.security import generate_password_hash

from tests.support.auth import bearer
from tests.support.http import csrf
from tests.support.races import (
    concurrent_edits_of_one_problem,
    deletes_racing_edits,
    ids_are_never_reused,
)
from tests.support.servers import LiveServer, start_server, stop_server

MIB = 1024 * 1024
PASSWORD = "faults-password-1"
# A password hash that takes about two seconds to check: long enough to see
# whether a sign-in holds the write lock while it checks one.
SLOW_HASH_METHOD = "pbkdf2:sha256:10000000"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    # Many sign-ins and writes from one address: no rate limit in the way.
    live = start_server(
        tmp_path_factory.mktemp("faults"), extra_env={"FLASK_RATELIMIT_ENABLED": "false"}
    )
    yield live
    stop_server(live)


@pytest.fixture(scope="module")
def tokens(server: LiveServer) -> dict[str, str]:
    return {name: server.user_token(name, PASSWORD) for name in ("writer", "other", "slowpoke")}


def database(server: LiveServer) -> Path:
    return Path(server.env["FLASK_SQLALCHEMY_DATABASE_URI"].removeprefix("sqlite:///"))


def sign_in(server: LiveServer, name: str, password: str) -> int:
    """Sign in through the form; return the status of the POST (303 or 422)."""
    with requests.Session() as session:
        token = csrf(session, server.url("/login"))
        response = session.post(
            server.url("/login"),
            data={"name": name, "password": password, "csrf_token": token},
            allow_redirects=False,
            timeout=30,
        )
        return response.status_code


def raw_request(
    server: LiveServer,
    head: str,
    parts: Iterable[bytes],
    pause: float = 0.0,
    sent: threading.Event | None = None,
) -> tuple[int, bytes]:
    """Send a request by hand (its body in ``parts``, ``pause`` s apart); return status and body.

    ``sent`` is set once the whole body is sent.
    """
    address = urlsplit(server.base_url)
    with socket.create_connection((address.hostname, address.port), timeout=60) as sock:
        sock.sendall(head.replace("\n", "\r\n").encode() + b"\r\n")
        for part in parts:
            sock.sendall(part)
            time.sleep(pause)
        if sent is not None:
            sent.set()
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
    status_line, _, rest = received.partition(b"\r\n")
    return int(status_line.split()[1]), rest.partition(b"\r\n\r\n")[2]


def chunked(body: bytes, size: int = 64 * 1024) -> Iterator[bytes]:
    """``body`` in HTTP/1.1 chunks, then the last chunk."""
    for start in range(0, len(body), size):
        piece = body[start : start + size]
        yield f"{len(piece):x}\r\n".encode() + piece + b"\r\n"
    yield b"0\r\n\r\n"


def timed(call: Callable[[], int]) -> tuple[int, float]:
    started = time.monotonic()
    status = call()
    return status, time.monotonic() - started


def found(server: LiveServer, name: str) -> list[str]:
    response = requests.get(server.url("/api/search"), params={"q": name}, timeout=10)
    return [problem["name"] for problem in response.json()]


def test_a_client_sending_its_body_slowly_delays_no_other_write(
    server: LiveServer, tokens: dict[str, str]
) -> None:
    body = json.dumps({"name": "Sent Slowly", "tags": ["slow"]}).encode()
    head = (
        "POST /api/problems HTTP/1.1\nHost: localhost\nConnection: close\n"
        f"Authorization: Bearer {tokens['writer']}\nContent-Type: application/json\n"
        f"Content-Length: {len(body)}\n"
    )
    slow: dict[str, tuple[int, bytes]] = {}
    pause = 12.0 / len(body)  # the body takes about 12 s to arrive
    body_sent = threading.Event()
    parts = (body[i : i + 1] for i in range(len(body)))
    sender = threading.Thread(
        target=lambda: slow.update(result=raw_request(server, head, parts, pause, body_sent))
    )
    sender.start()
    time.sleep(1)  # its headers and first bytes are in: the view is waiting for the rest

    other = tokens["other"]
    calls: list[tuple[str, Callable[[], int]]] = []
    for i in range(4):
        calls += [
            (
                "create",
                lambda i=i: (
                    requests.post(
                        server.url("/api/problems"),
                        json={"name": f"Meanwhile {i}"},
                        headers=bearer(other),
                        timeout=30,
                    ).status_code
                ),
            ),
            ("sign-in", lambda: sign_in(server, "other", PASSWORD)),
            ("failed sign-in", lambda: sign_in(server, "other", "not-the-password")),
        ]
    results = []
    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
        futures = [(kind, pool.submit(timed, call)) for kind, call in calls]
        results = [(kind, *future.result()) for kind, future in futures]
    # Every one was answered while the slow body was still arriving: none waited for it
    # (a write held behind it is answered only once its last byte is in). The order of
    # two events in this process, not a bound on each call's time, which a loaded machine
    # (two suites on two cores) can stretch.
    answered_while_the_body_arrived = not body_sent.is_set()
    sender.join(30)
    expected = {"create": 201, "sign-in": 303, "failed sign-in": 422}
    assert [(kind, status) for kind, status, _ in results] == [
        (kind, expected[kind]) for kind, _ in calls
    ]
    assert answered_while_the_body_arrived, results
    status, answer = slow["result"]
    assert status == 201, answer
    assert found(server, "Sent Slowly") == ["Sent Slowly"]
    assert "database is locked" not in server.log()


@pytest.mark.sqlite_only(reason="takes SQLite's write lock (BEGIN IMMEDIATE) beside gunicorn")
def test_a_sign_in_checking_a_password_holds_no_write_lock(
    server: LiveServer, tokens: dict[str, str]
) -> None:
    slow_hash = generate_password_hash(PASSWORD, method=SLOW_HASH_METHOD)
    with sqlite3.connect(database(server)) as db:
        db.execute("UPDATE users SET password_hash = ? WHERE name = 'slowpoke'", (slow_hash,))
    for password, expected in (("not-the-password", 422), (PASSWORD, 303)):
        with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
            signing_in = pool.submit(timed, lambda p=password: sign_in(server, "slowpoke", p))
            time.sleep(0.8)  # its password is being checked
            # The write lock is free: taking it does not wait (timeout 0) ...
            lock = sqlite3.connect(database(server), timeout=0, isolation_level=None)
            try:
                lock.execute("BEGIN IMMEDIATE")
                lock.execute("ROLLBACK")
            finally:
                lock.close()
            # ... and another client's write goes through at once: it is answered while
            # the password is still being checked (the order of two events in this
            # process, not a bound on the write's time, which a loaded machine stretches).
            written = requests.post(
                server.url("/api/problems"),
                json={"name": f"Beside a sign-in {expected}"},
                headers=bearer(tokens["other"]),
                timeout=30,
            ).status_code
            answered_during_the_check = not signing_in.done()
            status, seconds = signing_in.result()
        assert written == 201
        assert answered_during_the_check, "the write waited for the password check"
        assert status == expected
        assert seconds > 1, "the password check was meant to be slow"


def test_concurrent_edits_of_one_problem_on_sqlite(
    server: LiveServer, tokens: dict[str, str]
) -> None:
    concurrent_edits_of_one_problem(server, tokens["writer"])


def test_deletes_racing_edits_on_sqlite(server: LiveServer, tokens: dict[str, str]) -> None:
    deletes_racing_edits(server, tokens["writer"])


def test_a_chunked_body_over_1_mib_is_413_and_writes_nothing(
    server: LiveServer, tokens: dict[str, str]
) -> None:
    head = (
        "POST /api/problems HTTP/1.1\nHost: localhost\nConnection: close\n"
        f"Authorization: Bearer {tokens['writer']}\nContent-Type: application/json\n"
        "Transfer-Encoding: chunked\n"
    )
    # A JSON object, then whitespace: its first MiB alone is a valid problem.
    small = json.dumps({"name": "Chunked Small"}).encode()
    status, answer = raw_request(server, head, chunked(small))
    assert status == 201, answer
    large = json.dumps({"name": "Chunked Large"}).encode() + b" " * MIB
    status, answer = raw_request(server, head, chunked(large))
    assert status == 413, answer
    assert json.loads(answer) == {"error": "The request body is larger than 1 MiB."}

    # requests sends a generator's body chunked.
    def pieces() -> Iterator[bytes]:
        data = json.dumps({"name": "Chunked By Requests"}).encode() + b" " * (MIB + 10)
        for start in range(0, len(data), 50_000):
            yield data[start : start + 50_000]

    response = requests.post(
        server.url("/api/problems"),
        data=pieces(),
        headers={**bearer(tokens["writer"]), "Content-Type": "application/json"},
        timeout=30,
    )
    assert response.status_code == 413
    assert found(server, "Chunked") == ["Chunked Small"]


def test_a_chunked_form_over_1_mib_is_413(server: LiveServer) -> None:
    head = (
        "POST /login HTTP/1.1\nHost: localhost\nConnection: close\n"
        "Content-Type: application/x-www-form-urlencoded\nTransfer-Encoding: chunked\n"
    )
    form = b"name=other&password=" + PASSWORD.encode() + b"&padding=" + b"x" * MIB
    status, answer = raw_request(server, head, chunked(form))
    assert status == 413
    assert b"larger than 1 MiB" in answer


def test_ids_are_never_reused(server: LiveServer, tokens: dict[str, str]) -> None:
    ids_are_never_reused(server, tokens["writer"])
