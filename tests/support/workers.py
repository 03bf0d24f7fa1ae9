"""Which gunicorn worker answered: an access log that says so, and reading a URL until
every worker has answered it (and answered it from the cache), rather than hoping that
twenty reads reached them all.
"""

from __future__ import annotations

import concurrent.futures
import itertools
import re
from collections.abc import Callable

import pytest
import requests

from tests.support.servers import LiveServer

MIN_READS = 20
MAX_READS = 200

# pid, probe, request line, status, X-Cache: <4242> p7 "GET /api/problems HTTP/1.1" 200 HIT
ACCESS_LOG_FORMAT = '%(p)s %({x-probe}i)s "%(r)s" %(s)s %({x-cache}o)s'
LOGGED = {
    "PRACTICE_ACCESS_LOG": "1",
    "GUNICORN_CMD_ARGS": f"--access-logformat '{ACCESS_LOG_FORMAT}'",
    # One thread, so one connection, per worker: a burst of concurrent reads
    # then reaches every worker (read_everywhere), as it must to show that each
    # worker's copy is current. Threads change nothing in what is checked.
    "PRACTICE_THREADS": "1",
}
ACCESS_LINE = re.compile(r'^<(\d+)> (\S+) "[A-Z]+ \S+ [^"]*" \d{3} (\S+)$', re.MULTILINE)
BOOTED = re.compile(r"Booting worker with pid: (\d+)")

_probes = itertools.count(1)


def booted_workers(server: LiveServer) -> set[str]:
    """The pids of the workers gunicorn says it booted."""
    return set(BOOTED.findall(server.log()))


def answers(server: LiveServer, probe: str) -> dict[str, set[str]]:
    """Map each worker that answered the requests tagged ``probe`` to its X-Cache values."""
    seen: dict[str, set[str]] = {}
    for pid, tag, state in ACCESS_LINE.findall(server.log()):
        if tag == probe:
            seen.setdefault(pid, set()).add(state)
    return seen


def read_everywhere(
    server: LiveServer,
    path: str,
    check: Callable[[requests.Response], None],
    *,
    status: int = 200,
    cached: bool = True,
) -> list[str | None]:
    """GET ``path`` until every worker has answered it, at least MIN_READS times; check each.

    The server logs as ``LOGGED`` says. With ``cached``, each worker must also have
    answered with X-Cache: HIT. Return the X-Cache values in the order they came.
    """
    probe = f"p{next(_probes)}"
    states: list[str | None] = []
    expected = booted_workers(server)

    def read() -> str | None:
        response = requests.get(server.url(path), headers={"X-Probe": probe}, timeout=10)
        assert response.status_code == status, (path, response.status_code, response.text)
        check(response)
        return response.headers.get("X-Cache")

    # One after another first, so the order of MISS and HITs can be checked;
    # then in bursts of concurrent reads: one after another, the kernel may hand
    # every connection to the same idle worker, and a busy sync worker cannot
    # take the next one, so a burst reaches the others.
    for _ in range(MIN_READS):
        states.append(read())
    with concurrent.futures.ThreadPoolExecutor(len(expected) + 1) as pool:
        while len(states) < MAX_READS:
            seen = answers(server, probe)
            done = {pid for pid, got in seen.items() if "HIT" in got or not cached}
            if expected <= done:
                return states
            states.extend(pool.map(lambda _n: read(), range(len(expected) + 1)))
    pytest.fail(
        f"{MAX_READS} reads of {path}: workers {sorted(expected)} answered {answers(server, probe)}"
    )


def miss_then_hits(states: list[str | None]) -> bool:
    return states == ["MISS"] + ["HIT"] * (len(states) - 1)
