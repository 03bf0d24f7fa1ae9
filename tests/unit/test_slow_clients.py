"""gunicorn.conf.py as `make run` uses it: threads, so that a slow client holds a thread and
not a worker, and a short keep-alive (the slow clients themselves: e2e/test_slow_clients.py)."""

from __future__ import annotations

from tests.support.servers import make_run_settings


def test_make_run_serves_with_threads_and_short_keep_alive() -> None:
    settings = make_run_settings()
    assert settings["worker_class"] == "gthread"
    # One accepted connection per thread, so a busy worker leaves the next one to another.
    assert settings["worker_connections"] == settings["threads"]
    assert 0 < settings["keepalive"] <= 2
