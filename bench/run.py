"""Benchmark the response cache: a hit against a raw WSGI app, both under gunicorn.

    make bench                      # or: .venv/bin/python bench/run.py [--py-spy] [--help]

In one run, on a temporary instance folder with 1,000 problems, it serves the
app and ``bench/raw_wsgi.py`` side by side with the same gunicorn settings,
drives them with wrk in interleaved rounds, counts the workers' CPU time per
request, times the miss path with sequential requests, times the hit path
in-process, measures the workers' memory and, with ``--py-spy``, samples one
worker of each. It prints a Markdown report and writes it to
bench/results/latest.md. docs/benchmarks.md explains the rows.

This file is the run, in order; its parts are in ``bench/cache_hit/``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.cache_hit.py_spy import profile  # noqa: E402
from bench.cache_hit.report import Case, report  # noqa: E402
from bench.cache_hit.settings import DETAIL, LIST, SEARCH, Settings  # noqa: E402
from bench.cache_hit.timings import hit_path_micros, time_misses  # noqa: E402
from bench.capture import capture_hit, check_replay, write_capture  # noqa: E402
from bench.common import Server, flask, gunicorn, load_text, worker_rss_mib  # noqa: E402
from bench.problems import load_problems  # noqa: E402
from bench.wrk import WrkResult, run_wrk  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "latest.md"


def wrk(server: Server, path: str, settings: Settings) -> WrkResult:
    """A warm-up, then the measured run, of wrk against ``path``, with the workers' CPU."""
    return run_wrk(
        server.port,
        path,
        threads=settings.threads,
        connections=settings.connections,
        timeout=10,
        warmup=settings.warmup,
        duration=settings.duration,
        server=server,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument(
        "--workers", type=int, default=os.cpu_count() or 2, help="gunicorn workers (CPUs)"
    )
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--connections", type=int, default=16, help="wrk connections")
    parser.add_argument("--duration", type=int, default=10, help="seconds of each wrk run")
    parser.add_argument("--warmup", type=int, default=2, help="seconds of wrk before each run")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds of wrk runs")
    parser.add_argument("--problems", type=int, default=1000, help="problems to load")
    parser.add_argument(
        "--miss-requests", type=int, default=30, help="sequential requests timed on a miss"
    )
    parser.add_argument(
        "--py-spy", action="store_true", help="also profile a hit and a raw worker with py-spy"
    )
    args = parser.parse_args(argv)
    settings = Settings(**vars(args))
    if shutil.which("wrk") is None:
        print(
            "wrk is not installed. Debian or Ubuntu: sudo apt-get install -y wrk; "
            "macOS: brew install wrk. Then run `make bench` again.",
            file=sys.stderr,
        )
        return 2

    notes = {"load_before": load_text()}
    with tempfile.TemporaryDirectory(prefix="practice-bench-") as tmp:
        folder = Path(tmp)
        env = {
            **os.environ,
            "PRACTICE_APP_INSTANCE": str(folder / "instance"),
            "FLASK_SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder / 'bench.sqlite3'}",
            "PRACTICE_ACCESS_LOG": "0",
            "PRACTICE_LOG_LEVEL": "warning",
        }
        # This process builds the app too, to load problems and clear the cache: same config.
        for name in ("PRACTICE_APP_INSTANCE", "FLASK_SQLALCHEMY_DATABASE_URI"):
            os.environ[name] = env[name]
        print("Migrating a temporary instance folder ...", flush=True)
        flask(env, "db", "upgrade")
        from practice_app import create_app

        app = create_app()
        print(f"Loading {settings.problems} problems ...", flush=True)
        notes["load_s"] = f"{load_problems(app, settings.problems):.1f} s"

        with gunicorn("app", "wsgi:app", env, folder, ["-w", str(settings.workers)]) as served:
            captured = {path: capture_hit(served.port, path) for path in (LIST, DETAIL)}
            capture_file = folder / "capture.json"
            write_capture(captured, capture_file)
            raw_env = {**env, "BENCH_RAW_CAPTURE": str(capture_file)}
            with gunicorn(
                "raw", "bench.raw_wsgi:app", raw_env, folder, ["-w", str(settings.workers)]
            ) as raw:
                for path in (LIST, DETAIL):
                    check_replay(raw.port, path, captured[path])
                servers = {"app": served, "raw": raw}
                cases = {
                    f"hit {LIST}": Case("cache hit", "app", LIST, []),
                    f"raw {LIST}": Case("raw WSGI, same response", "raw", LIST, []),
                    f"hit {DETAIL}": Case("cache hit", "app", DETAIL, []),
                    f"raw {DETAIL}": Case("raw WSGI, same response", "raw", DETAIL, []),
                    "dynamic": Case("dynamic, never stored", "app", SEARCH, []),
                }
                for number in range(1, settings.rounds + 1):
                    for case in cases.values():
                        print(f"round {number}: wrk {case.server} {case.path} ...", flush=True)
                        case.rounds.append(wrk(servers[case.server], case.path, settings))
                        if case.server == "app" and case.path != SEARCH:
                            capture_hit(served.port, case.path)  # still a hit after the run
                memory = {
                    "app (`wsgi:app`)": worker_rss_mib(served),
                    "raw (`bench/raw_wsgi.py`)": worker_rss_mib(raw),
                }
                profiles: dict[str, dict[str, float]] = {}
                for key in (f"hit {LIST}", f"raw {LIST}", f"hit {DETAIL}", f"raw {DETAIL}"):
                    if not settings.py_spy:
                        break
                    case = cases[key]
                    print(f"py-spy: {case.server} {case.path} ...", flush=True)
                    name = f"py-spy-{case.server}-{'list' if case.path == LIST else 'detail'}.txt"
                    RESULTS.parent.mkdir(parents=True, exist_ok=True)
                    shares = profile(
                        servers[case.server], case.path, settings, RESULTS.parent / name
                    )
                    if shares is not None:
                        profiles[key] = shares
            misses = {}
            for path in (LIST, DETAIL):
                print(f"misses: {path} x {settings.miss_requests} ...", flush=True)
                misses[path] = time_misses(app, served.port, path, settings.miss_requests)
            for path in (LIST, DETAIL):
                capture_hit(served.port, path)
            micros = {path: hit_path_micros(app, captured, path) for path in (LIST, DETAIL)}

    sizes = {path: len(captured[path][2]) for path in (LIST, DETAIL)}
    text = report(settings, cases, misses, micros, memory, sizes, notes, profiles)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(text, encoding="utf-8")
    print()
    print(text)
    print(f"Written to {RESULTS.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
