"""A throw-away PostgreSQL cluster, for the end-to-end tests and bench/growth.py.

Needs Debian's ``postgresql`` package (``make system-deps`` installs it): a
cluster is made with ``initdb`` in a temporary folder and started on the port
it is given, reachable over TCP on 127.0.0.1 with trust authentication.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path


@dataclass
class Postgres:
    """A running cluster: its SQLAlchemy URL, ways to stop and start it, its data folder."""

    url: str
    stop: Callable[[], None]
    start: Callable[[], None]
    data: Path


def _pg_bin() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not found:
        raise RuntimeError("PostgreSQL is not installed (Debian: apt-get install postgresql)")
    return Path(found[-1]).parent


def _as_postgres(args: list[str]) -> list[str]:
    # PostgreSQL refuses to run as root; CI runs as root.
    return ["runuser", "-u", "postgres", "--", *args] if os.geteuid() == 0 else args


# A cluster that serves many at once: the tests' session cluster under
# PRACTICE_TEST_BACKEND=postgres-redis (tests/support/backends.py: every test's apps and
# gunicorns, a database made per test), and bench/growth.py's. Durability through a
# crash of the machine is no concern of a throw-away cluster, so nothing waits for the disk.
FAST_OPTIONS = (
    " -c max_connections=400 -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
)


@contextmanager
def postgres_cluster(port: int, *, fast: bool = False) -> Iterator[Postgres]:
    """Make and start a cluster on ``port``; stop it and remove its files afterwards.

    ``fast``: up to 400 connections, and no waiting for the disk (FAST_OPTIONS).
    """
    bin_dir = _pg_bin()
    folder = Path(tempfile.mkdtemp(prefix="practice-pg-"))
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres", "postgres")
    data = folder / "data"
    initdb = [str(bin_dir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust"]
    subprocess.run(
        _as_postgres([*initdb, "-E", "UTF8", "--locale=C.UTF-8"]), check=True, capture_output=True
    )
    options = f"-p {port} -k {folder} -c listen_addresses=127.0.0.1"
    if fast:
        options += FAST_OPTIONS
    pg_ctl = [str(bin_dir / "pg_ctl"), "-D", str(data)]

    def start() -> None:
        subprocess.run(
            _as_postgres([*pg_ctl, "-l", str(folder / "log"), "-w", "-o", options, "start"]),
            check=True,
            capture_output=True,
        )

    start()

    def stop() -> None:
        subprocess.run(
            _as_postgres([*pg_ctl, "-m", "fast", "-w", "stop"]), check=False, capture_output=True
        )

    try:
        url = f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"
        yield Postgres(url, stop, start, data)
    finally:
        stop()
        shutil.rmtree(folder, ignore_errors=True)
