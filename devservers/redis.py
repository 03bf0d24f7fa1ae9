"""A throw-away redis-server without persistence, for the tests and bench/growth.py.

Needs the ``redis-server`` binary (Debian's ``redis-server`` package; ``make
system-deps`` installs it). It listens on 127.0.0.1 on the port it is given.
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import redis


def start_redis(port: int, log_path: Path) -> subprocess.Popen[bytes]:
    """Start a redis-server on ``port`` without persistence; return it once it answers PING."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise RuntimeError("redis-server is not installed (Debian: apt-get install redis-server)")
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [
                binary,
                "--port",
                str(port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    client = redis.Redis(port=port, socket_timeout=1)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                return process
            except redis.ConnectionError:
                if process.poll() is not None or time.monotonic() > deadline:
                    process.kill()
                    process.wait()
                    raise RuntimeError(
                        f"redis-server did not start:\n{log_path.read_text()}"
                    ) from None
                time.sleep(0.05)
    finally:
        client.close()


@contextlib.contextmanager
def redis_server(port: int, folder: Path) -> Iterator[str]:
    """A throw-away redis-server on ``port`` without persistence; yields its URL."""
    process = start_redis(port, folder / "redis.log")
    try:
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        process.wait(timeout=10)
