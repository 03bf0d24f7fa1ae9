"""What gunicorn -w 3 writes and binds (one server for the module): every log
record once, in one format, and no control socket."""

from __future__ import annotations

import re
import shutil
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.support.servers import LiveServer, start_server, stop_server

# gunicorn's own lines and the app's share a prefix: [time] [pid] [LEVEL].
PREFIX = re.compile(r"^\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d [+-]\d{4}\] \[(\d+)\] \[([A-Z]+)\] ")
# What logging.basicConfig prints: cachelib's first warning used to install it.
BASIC_CONFIG = re.compile(r"^(DEBUG|INFO|WARNING|ERROR|CRITICAL):")


@pytest.fixture(scope="module")
def runtime_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("xdg-runtime")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, runtime_dir: Path) -> Iterator[LiveServer]:
    live = start_server(
        tmp_path_factory.mktemp("logs"), extra_env={"XDG_RUNTIME_DIR": str(runtime_dir)}
    )
    yield live
    stop_server(live)


@pytest.mark.sqlite_only(reason="turns the file cache's directory into a file")
def test_each_app_warning_is_logged_once_after_cachelib_warned(server: LiveServer) -> None:
    assert requests.get(server.url("/api/problems"), timeout=10).status_code == 200
    # Stored once its MISS was sent: the next GET waits for that, then hits.
    assert requests.get(server.url("/api/problems"), timeout=10).headers["X-Cache"] == "HIT"
    # The cache directory becomes a file: cachelib warns through the root logger,
    # then the app warns (once a minute in each worker) that it serves dynamically.
    cache = server.instance / "cache"
    _remove_tree(cache)
    cache.write_text("not a directory\n")
    # URLs no worker has stored yet: each worker reads the backend, then tries
    # to store (a worker serves an entry it already holds without the backend).
    for number in range(30):
        path = ("/api/stats", "/api/clock/static", "/api/clock/revalidate")[number % 3]
        assert requests.get(server.url(path), timeout=10).status_code == 200
    time.sleep(0.5)
    lines = server.log().splitlines()

    assert any("Exception raised while handling cache file" in line for line in lines)
    assert not [line for line in lines if BASIC_CONFIG.match(line)]
    app_lines = [line for line in lines if "serving dynamically" in line]
    assert app_lines
    records = []
    for line in app_lines:
        prefix = PREFIX.match(line)
        assert prefix, line  # one format for all: gunicorn's, with the logger's name
        assert prefix.group(2) == "WARNING"
        records.append((prefix.group(1), line[prefix.end() :]))
    twice = [record for record, count in Counter(records).items() if count > 1]
    assert not twice, app_lines


def _remove_tree(folder: Path) -> None:
    """``rmtree`` while a worker may still write there: cachelib writes each file (and its
    count file) as a temporary one renamed into place, which can vanish under rmtree."""
    for _ in range(50):
        try:
            shutil.rmtree(folder)
            return
        except FileNotFoundError:
            time.sleep(0.01)
    shutil.rmtree(folder)


def test_no_control_socket_is_shared_with_other_gunicorns(
    server: LiveServer, runtime_dir: Path
) -> None:
    assert not (runtime_dir / "gunicorn.ctl").exists()
    assert "Control socket" not in server.log()
