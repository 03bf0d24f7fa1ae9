"""Fixtures of the end-to-end tests: servers of a test's own, and a PostgreSQL or a Redis
of a module's or a test's own (beside the session's, under PRACTICE_TEST_BACKEND)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from devservers.postgres import Postgres, postgres_cluster
from devservers.processes import free_port
from devservers.redis import redis_server
from tests.support.auth import CHIEF, WRITER
from tests.support.servers import LiveServer, stop_server


@pytest.fixture
def servers() -> Iterator[list[LiveServer]]:
    """Servers a test starts (``servers.append(start_server(...))``), stopped when it ends."""
    started: list[LiveServer] = []
    yield started
    for server in started:
        stop_server(server)


@pytest.fixture(scope="module")
def token(server: LiveServer) -> str:
    """A writer's API token on the module's ``server`` (a module that uses it defines one)."""
    return server.user_token(*WRITER)


@pytest.fixture(scope="module")
def admin(server: LiveServer) -> str:
    """An admin's API token on the module's ``server``."""
    return server.user_token(*CHIEF, admin=True)


@pytest.fixture(scope="module")
def postgres() -> Iterator[Postgres]:
    """A PostgreSQL cluster of its own for one test module, on a free port (devservers/)."""
    with postgres_cluster(free_port()) as cluster:
        yield cluster


@pytest.fixture
def redis_url(tmp_path: Path) -> Iterator[str]:
    """A throw-away redis-server on a free port, without persistence."""
    with redis_server(free_port(), tmp_path) as url:
        yield url
