"""Each catalogue ready to serve: on SQLite with the file cache, or on PostgreSQL with Redis.

A backend's catalogues are made in ascending size, each a copy of the one
before plus more problems (a SQLite file copied by its backup API; a
PostgreSQL database made with ``CREATE DATABASE ... TEMPLATE``), so that the
first thousand problems are the same at every size. PostgreSQL and Redis are
the throw-away ones the tests use too (``devservers/``).
"""

from __future__ import annotations

import contextlib
import glob
import os
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from bench import common
from bench.catalogue_growth.catalogue import Catalogue, insert_problems
from bench.catalogue_growth.settings import GUNICORN_FLAGS
from bench.common import Server, flask
from devservers.postgres import postgres_cluster
from devservers.processes import free_port


@contextlib.contextmanager
def postgres() -> Iterator[tuple[str, int]]:
    """A throw-away cluster (devservers/postgres.py, no waiting for the disk) on a free port.

    Yields its URL without a database name, and the postmaster's pid.
    """
    with postgres_cluster(free_port(), fast=True) as cluster:
        pid = int((cluster.data / "postmaster.pid").read_text().split()[0])
        yield cluster.url.removesuffix("/postgres"), pid


def postgres_cpu_seconds(postmaster: int) -> float:
    """CPU time of the cluster's processes (the postmaster's children) so far."""
    total = 0.0
    for stat in glob.glob("/proc/[0-9]*/stat"):
        try:
            fields = Path(stat).read_text().rsplit(")", 1)[1].split()
            if int(fields[1]) != postmaster:
                continue
            schedstat = Path(stat).with_name("schedstat").read_text()
            total += int(schedstat.split()[0]) / 1e9
        except (OSError, ValueError, IndexError):
            continue
    return total


# -- the catalogues --------------------------------------------------------------------


@dataclass
class Instance:
    """One catalogue, ready to serve: its environment and the API token of its admin."""

    backend: str
    size: int
    env: dict[str, str]
    token: str
    load_s: float = 0.0


def base_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FLASK_", "PRACTICE_"))}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)  # gunicorn.conf.py makes one per server
    env.update(
        {
            "PRACTICE_ACCESS_LOG": "0",
            "PRACTICE_LOG_LEVEL": "warning",
            "FLASK_API_WRITE_RATE_LIMIT": "1000000 per minute",
        }
    )
    return env


def sqlite_instances(folder: Path, sizes: list[int], catalogue: Catalogue) -> list[Instance]:
    """One SQLite file per size, each the one before plus more; the file-system cache."""
    instances: list[Instance] = []
    previous: Instance | None = None
    for size in sizes:
        database = folder / f"sqlite-{size}.sqlite3"
        env = {
            **base_env(),
            "PRACTICE_APP_INSTANCE": str(folder / f"instance-sqlite-{size}"),
            "FLASK_SQLALCHEMY_DATABASE_URI": f"sqlite:///{database}",
        }
        if previous is None:
            flask(env, "db", "upgrade")
            api_token = make_admin(env)
            start = 0
        else:
            source = sqlite3.connect(previous.env["FLASK_SQLALCHEMY_DATABASE_URI"][10:])
            target = sqlite3.connect(database)
            with target:
                source.backup(target)
            source.close()
            target.close()
            api_token, start = previous.token, previous.size
        print(f"SQLite: loading problems {start + 1:,} to {size:,} ...", flush=True)
        seconds = insert_problems(env["FLASK_SQLALCHEMY_DATABASE_URI"], catalogue, start, size)
        previous = Instance("sqlite", size, env, api_token, seconds)
        instances.append(previous)
    return instances


def postgres_instances(
    base_url: str, redis_url: str, folder: Path, sizes: list[int], catalogue: Catalogue
) -> list[Instance]:
    """One database per size, each a copy (TEMPLATE) of the one before plus more; Redis."""
    import psycopg

    instances: list[Instance] = []
    previous: Instance | None = None
    admin = base_url.replace("postgresql+psycopg://", "postgresql://") + "/postgres"
    for size in sizes:
        name = f"growth_{size}"
        with psycopg.connect(admin, autocommit=True) as conn:
            template = f" TEMPLATE growth_{previous.size}" if previous else ""
            conn.execute(f"CREATE DATABASE {name}{template}")
        env = {
            **base_env(),
            "PRACTICE_APP_INSTANCE": str(folder / f"instance-pg-{size}"),
            "FLASK_SQLALCHEMY_DATABASE_URI": f"{base_url}/{name}",
            "FLASK_CACHE_TYPE": "RedisCache",
            "FLASK_CACHE_REDIS_URL": redis_url,
            "FLASK_CACHE_KEY_PREFIX": f"growth{size}:",
        }
        if previous is None:
            flask(env, "db", "upgrade")
            api_token, start = make_admin(env), 0
        else:
            api_token, start = previous.token, previous.size
        print(f"PostgreSQL: loading problems {start + 1:,} to {size:,} ...", flush=True)
        seconds = insert_problems(env["FLASK_SQLALCHEMY_DATABASE_URI"], catalogue, start, size)
        previous = Instance("postgres", size, env, api_token, seconds)
        instances.append(previous)
    return instances


def make_admin(env: dict[str, str]) -> str:
    """The user ``bench`` (an admin, the problems' author) and an API token, by the CLI."""
    password = "bench-" + os.urandom(12).hex()
    flask(env, "users", "create", "bench", "--admin", stdin=password + "\n")
    return flask(env, "tokens", "create", "bench", "--label", "growth").strip().splitlines()[-1]


# -- serving them --------------------------------------------------------------------------


def gunicorn(
    name: str, target: str, env: dict[str, str], folder: Path
) -> contextlib.AbstractContextManager[Server]:
    """Serve ``target`` with gunicorn.conf.py and the harness's flags; stop it afterwards."""
    return common.gunicorn(name, target, env, folder, GUNICORN_FLAGS)
