"""The caching extension taken away: ``examples/route_cache/app.py`` beside a copy of
``practice_app/caching`` named ``route_cache``, under gunicorn with three workers.

The copy is all the example gets of this project: it runs from a folder of its own, with
``route_cache`` importable and ``practice_app``'s folder nowhere on its path (the unit test
``test_route_cache_standalone`` checks that the package imports nothing of the app). On
SQLite and the file cache by default, on PostgreSQL + Redis in that run.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from devservers.processes import BIN, ROOT, free_port
from tests.support import backends

EXAMPLE = ROOT / "examples" / "route_cache" / "app.py"
WORKERS = 3
# The access log's line: the worker's pid, the request line, the status.
ACCESS = re.compile(r"^<(\d+)> \"(\w+) (\S+) [^\"]*\" (\d+)$", re.MULTILINE)


@dataclass
class Example:
    url: str
    log_path: Path

    def get(self, path: str) -> requests.Response:
        # A new connection each time: gunicorn's workers take turns accepting them.
        return requests.get(self.url + path, headers={"Connection": "close"}, timeout=10)

    def access(self) -> list[tuple[int, str, str, int]]:
        text = self.log_path.read_text(errors="replace")
        return [(int(p), m, path, int(s)) for p, m, path, s in ACCESS.findall(text)]


@contextlib.contextmanager
def _backend_env() -> Iterator[dict[str, str]]:
    """The example's settings (its own FLASK_* variables): an empty database and cache."""
    with backends.empty_database() as database_url:
        if database_url is None:
            yield {}
            return
        prefix = f"example{os.getpid()}x{time.monotonic_ns()}:"
        yield {
            "FLASK_SQLALCHEMY_DATABASE_URI": database_url,
            "FLASK_CACHE_TYPE": "RedisCache",
            "FLASK_CACHE_REDIS_URL": backends.shared().redis_url,
            "FLASK_CACHE_KEY_PREFIX": prefix,
        }


@pytest.fixture(scope="module")
def example(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Example]:
    folder = tmp_path_factory.mktemp("route-cache-example")
    shutil.copytree(
        ROOT / "practice_app" / "caching",
        folder / "route_cache",
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    shutil.copy(EXAMPLE, folder / "app.py")
    with _backend_env() as backend:
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("FLASK_", "PRACTICE_", "PYTHON"))
        }
        env.update({**backend, "PYTHONPATH": str(folder), "PYTHONSAFEPATH": "1"})
        made = subprocess.run(
            [str(BIN / "flask"), "--app", "app", "init-db"],
            cwd=folder,
            env=env,
            capture_output=True,
            text=True,
        )
        assert made.returncode == 0, made.stderr
        port = free_port()
        log_path = folder / "gunicorn.log"
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                [
                    str(BIN / "gunicorn"),
                    "-w",
                    str(WORKERS),
                    "-b",
                    f"127.0.0.1:{port}",
                    "--access-logfile",
                    "-",
                    "--access-logformat",
                    '%(p)s "%(r)s" %(s)s',
                    "app:app",
                ],
                cwd=folder,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        served = Example(f"http://127.0.0.1:{port}", log_path)
        try:
            _wait_for(served, process)
            yield served
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=30)
            # A traceback in the log is a failure even if every answer looked right.
            assert "Traceback" not in log_path.read_text(errors="replace"), log_path.read_text()


def _wait_for(example: Example, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(example.log_path.read_text())
        with contextlib.suppress(requests.RequestException):
            if example.get("/hello").status_code == 200:
                return
        time.sleep(0.2)
    raise RuntimeError(f"the example did not answer:\n{example.log_path.read_text()}")


def _post_note(example: Example, text: str) -> None:
    response = requests.post(example.url + "/notes", data={"text": text}, timeout=10)
    assert response.status_code == 201, response.text


def test_a_view_that_reads_nothing_is_stored_once_and_served_by_every_worker(
    example: Example,
) -> None:
    states = [example.get("/notes").headers.get("X-Cache") for _ in range(4 * WORKERS)]
    assert states[0] in ("MISS", "HIT")  # HIT when another test stored it first
    assert states[1:] == ["HIT"] * (len(states) - 1), states
    stored = example.get("/notes")
    assert stored.headers["Cache-Control"] == "public, no-cache"
    again = requests.get(
        example.url + "/notes", headers={"If-None-Match": stored.headers["ETag"]}, timeout=10
    )
    assert again.status_code == 304


def test_a_view_that_reads_the_request_and_a_force_dynamic_one_are_never_stored(
    example: Example,
) -> None:
    for name in ("ada", "bo", "cy"):
        hello = example.get(f"/hello?name={name}")
        assert hello.json() == {"hello": name}
        assert "X-Cache" not in hello.headers
        assert hello.headers["Cache-Control"].startswith("private, no-cache, no-store")
    values = set()
    for _ in range(WORKERS * 2):
        answer = example.get("/random")
        assert "X-Cache" not in answer.headers
        values.add(answer.json()["random"])
    assert len(values) == WORKERS * 2


def test_revalidate_serves_stale_once_then_the_new_render(example: Example) -> None:
    first = example.get("/time")
    stored_at = first.json()["now"]
    assert first.headers["X-Cache"] in ("MISS", "HIT")
    while time.time() < stored_at + 2.2:  # revalidate=2
        time.sleep(0.1)
    states: list[str] = []
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        answer = example.get("/time")
        states.append(answer.headers["X-Cache"])
        if answer.json()["now"] > stored_at + 2:
            break
        time.sleep(0.05)
    else:
        raise AssertionError(f"no new render after the period: {states}")
    assert "STALE" in states, states


def test_every_worker_reads_a_write_as_soon_as_it_is_answered(example: Example) -> None:
    """After each POST's 201, every GET on any worker shows the note: never an older list."""
    assert example.get("/notes").status_code == 200
    start = len(example.access())
    for n in range(12):
        _post_note(example, f"note {n}")
        for _ in range(2 * WORKERS):
            shown = example.get("/notes")
            assert shown.status_code == 200
            assert shown.json()[-1] == f"note {n}", (n, shown.headers.get("X-Cache"))
    time.sleep(0.5)  # the access log is written after each answer
    readers = {pid for pid, method, path, _ in example.access()[start:] if method == "GET"}
    assert len(readers) >= 2, f"the GETs reached one worker only: {readers}"
