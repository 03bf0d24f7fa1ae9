"""No stampede: after a write, a burst of GETs of a cached URL makes one render (gunicorn)."""

from __future__ import annotations

import concurrent.futures
import threading

import requests

from tests.support import races
from tests.support.auth import bearer
from tests.support.metrics import metric, scrape
from tests.support.servers import LiveServer

BURST = 64


def renders(server: LiveServer, route: str) -> float:
    return metric(scrape(server), "practice_cache_results_total", route=route, result="miss")


def test_a_burst_after_a_write_makes_one_render(live_server: LiveServer) -> None:
    token = live_server.user_token("stampeder", "stampede-password-1")
    assert live_server.flask("seed").returncode == 0
    problem_id = races.create_problem(live_server, token, "Stampeded")
    url = live_server.url("/api/problems")
    with concurrent.futures.ThreadPoolExecutor(max_workers=BURST) as pool:
        for round_ in range(3):
            requests.get(url, timeout=10)  # stored before the write
            patched = requests.patch(
                live_server.url(f"/api/problems/{problem_id}"),
                json={"statement": f"round {round_}"},
                headers=bearer(token),
                timeout=10,
            )
            assert patched.status_code == 200
            before = renders(live_server, "/api/problems")
            start = threading.Barrier(BURST)

            def get(_: int, start: threading.Barrier = start) -> requests.Response:
                start.wait(10)
                return requests.get(url, headers={"Connection": "close"}, timeout=30)

            answers = list(pool.map(get, range(BURST)))
            assert {answer.status_code for answer in answers} == {200}
            for answer in answers:
                shown = next(p for p in answer.json() if p["id"] == problem_id)
                assert shown["statement"] == f"round {round_}"
            assert renders(live_server, "/api/problems") - before == 1
