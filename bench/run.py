"""Benchmark the response cache: a hit against a raw WSGI app, both under gunicorn.

    make bench                      # or: .venv/bin/python bench/run.py [--py-spy] [--help]

In one run, on a temporary instance folder with 1,000 problems, it serves the
app and ``bench/raw_wsgi.py`` side by side with the same gunicorn settings,
drives them with wrk in interleaved rounds, counts the workers' CPU time per
request, times the miss path with sequential requests, times the hit path
in-process, measures the workers' memory and, with ``--py-spy``, samples one
worker of each. It prints a Markdown report and writes it to
bench/results/latest.md. docs/benchmarks.md explains the rows.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import random
import re
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import timeit
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from http.client import HTTPConnection
from importlib import resources
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.common import (  # noqa: E402
    BIN,
    Server,
    flask,
    gunicorn,
    load_text,
    machine,
    worker_cpu_seconds,
    worker_pids,
    worker_rss_mib,
)

RESULTS = ROOT / "bench" / "results" / "latest.md"
TARGET_RATIO = 0.75
HOP_HEADERS = {"date", "server", "connection"}  # gunicorn writes these itself, for both servers
Captured = tuple[str, list[tuple[str, str]], bytes]  # status line, headers, body

ACTIONS = [
    "Maximum Depth of", "Minimum Cost of", "Longest", "Shortest", "Count", "Merge",
    "Validate", "Reverse", "Rotate", "Serialize", "Balance", "Flatten", "Sum of",
    "Kth Smallest in", "Search in", "Clone", "Invert", "Level Order of", "Diameter of",
    "Lowest Common Ancestor in", "Sliding Window over", "Partition", "Sort", "Encode",
    "Decode", "Range Sum of", "Zigzag", "Top K in", "Median of", "Distinct",
]  # fmt: skip
TOPICS = {
    "Binary Tree": "trees", "Binary Search Tree": "trees", "Segment Tree": "trees",
    "Spanning Tree": "graphs", "Tree Paths": "trees", "Trie": "tries", "Array": "arrays",
    "Sorted Array": "arrays", "Linked List": "linked-lists", "String": "strings",
    "Palindrome": "strings", "Graph": "graphs", "Grid": "matrices", "Matrix": "matrices",
    "Heap": "heaps", "Intervals": "intervals", "Subarray": "arrays",
    "Subsequence": "dynamic-programming", "Stack": "stacks", "Queue": "queues",
    "Islands": "graphs", "Words": "strings", "Parentheses": "stacks", "Coins": "greedy",
    "Stock Prices": "dynamic-programming", "Calendar": "intervals", "Bits": "bits",
    "Polygon": "geometry",
}  # fmt: skip
SUFFIXES = ["", " II", " III", " IV", " with Duplicates", " in Place", " Without Recursion"]
DIFFICULTIES = ["easy", "medium", "medium", "hard"]


@dataclass
class Settings:
    workers: int
    threads: int
    connections: int
    duration: int
    warmup: int
    rounds: int
    problems: int
    miss_requests: int
    py_spy: bool


# -- the data -------------------------------------------------------------------------


def problem_fields(count: int) -> Iterator[dict[str, Any]]:
    """Realistic problems: names like "Diameter of Binary Tree II", seed statements, tags."""
    seeds = json.loads(
        resources.files("practice_app").joinpath("seed_problems.json").read_text("utf-8")
    )
    combos = [(a, t, s) for a in ACTIONS for t in TOPICS for s in SUFFIXES]
    random.Random(2026).shuffle(combos)
    for index, (action, topic, suffix) in enumerate(combos[:count]):
        yield {
            "name": f"{action} {topic}{suffix}",
            "difficulty": DIFFICULTIES[index % len(DIFFICULTIES)],
            "tags": [TOPICS[topic], *seeds[index % len(seeds)]["tags"][:2]],
            "statement": seeds[index % len(seeds)]["statement"],
        }


def load_problems(app: Any, count: int) -> float:
    """Create a user and ``count`` problems through the services; return the seconds taken."""
    from practice_app import services

    started = time.perf_counter()
    with app.app_context():
        author = services.create_user("bench", secrets.token_urlsafe(24))
        for fields in problem_fields(count):
            services.create_problem(author, services.load_problem_fields(fields))
    return time.perf_counter() - started


# -- servers --------------------------------------------------------------------------


def request(port: int, path: str, method: str = "GET") -> tuple[int, list[tuple[str, str]], bytes]:
    conn = HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request(method, path)
        response = conn.getresponse()
        return response.status, response.getheaders(), response.read()
    finally:
        conn.close()


# -- wrk ------------------------------------------------------------------------------


@dataclass
class WrkResult:
    requests_per_s: float
    p50_ms: float
    p99_ms: float
    requests: int
    errors: str
    cpu_us_per_request: float = 0.0  # the workers' CPU time, divided by the requests

    @classmethod
    def parse(cls, output: str) -> WrkResult:
        def latency(percent: str) -> float:
            match = re.search(rf"^\s+{percent}%\s+([\d.]+)(us|ms|s)\s*$", output, re.MULTILINE)
            if match is None:
                raise RuntimeError(f"no {percent}% latency in wrk's output:\n{output}")
            value, unit = float(match[1]), match[2]
            return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value

        rps = re.search(r"^Requests/sec:\s+([\d.]+)", output, re.MULTILINE)
        total = re.search(r"^\s+(\d+) requests in", output, re.MULTILINE)
        if rps is None or total is None:
            raise RuntimeError(f"unexpected wrk output:\n{output}")
        problems = []
        socket_errors = re.search(r"Socket errors: (.*)", output)
        if socket_errors:
            problems.append("socket errors: " + socket_errors[1].strip())
        non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
        if non_2xx:
            problems.append(f"{non_2xx[1]} non-2xx")
        return cls(float(rps[1]), latency("50"), latency("99"), int(total[1]), "; ".join(problems))


def wrk(server: Server, path: str, settings: Settings) -> WrkResult:
    """A warm-up, then the measured run, of wrk against ``path``."""
    url = f"http://127.0.0.1:{server.port}{path}"
    base = ["wrk", f"-t{settings.threads}", f"-c{settings.connections}", "--latency"]
    subprocess.run([*base, f"-d{settings.warmup}s", url], capture_output=True, check=True)
    cpu_before = worker_cpu_seconds(server)
    done = subprocess.run(
        [*base, f"-d{settings.duration}s", "--timeout", "10s", url],
        capture_output=True,
        text=True,
        check=True,
    )
    cpu = worker_cpu_seconds(server) - cpu_before
    result = WrkResult.parse(done.stdout)
    result.cpu_us_per_request = cpu / max(result.requests, 1) * 1e6
    return result


def expect_hit(port: int, path: str) -> Captured:
    """Warm ``path`` until it is a hit; return the hit's status line, headers and body."""
    for _ in range(5):
        status, headers, body = request(port, path)
        if dict(headers).get("X-Cache") == "HIT":
            kept = [(k, v) for k, v in headers if k.lower() not in HOP_HEADERS]
            return f"{status} OK", kept, body
    raise RuntimeError(f"{path} never answered X-Cache: HIT; headers: {headers}")


# -- the miss path and the hit path, without wrk ------------------------------------------


def time_misses(app: Any, port: int, path: str, count: int) -> list[float]:
    """Milliseconds of ``count`` sequential GETs of ``path``, the cache cleared before each."""
    from practice_app import services

    times = []
    for _ in range(count):
        with app.app_context():
            services.clear_cache()
        started = time.perf_counter()
        status, headers, _body = request(port, path)
        times.append((time.perf_counter() - started) * 1000)
        if status != 200 or dict(headers).get("X-Cache") != "MISS":
            raise RuntimeError(f"{path} after a clear: {status} {headers}")
    return times


def hit_path_micros(app: Any, captured: dict[str, Captured], path: str) -> dict[str, float]:
    """Microseconds per call, in this process, of the hit path and of its parts."""
    from practice_app import caching

    middleware = app.extensions["practice_cache_middleware"]
    store = middleware.store
    raw_status, raw_headers, _raw_body = captured[path]
    entry = store.get(path)
    if entry is None or store.cache_dir is None:
        raise RuntimeError(f"{path} is not cached in the file-system backend")
    environ = {"REQUEST_METHOD": "GET", "PATH_INFO": path, "QUERY_STRING": ""}
    environ.update({"SERVER_NAME": "127.0.0.1", "SERVER_PORT": "80", "wsgi.url_scheme": "http"})

    def start_response(_status: str, _headers: list[tuple[str, str]]) -> None:
        return None

    steps: dict[str, Callable[[], Any]] = {
        "raw WSGI app (bench/raw_wsgi.py)": lambda: start_response(raw_status, list(raw_headers)),
        "wsgi:app, a hit (Flask.__call__ + CacheMiddleware)": lambda: app(
            dict(environ), start_response
        ),
        "- the canonical URL, remembered (CacheMiddleware.target)": lambda: middleware.target(
            dict(environ)
        ),
        "- the worker's own copy (ResponseStore.recent)": lambda: store.recent(path),
        "- the database's versions (one indexed SELECT)": lambda: middleware.versions.read(
            list(entry.versions)
        ),
        "- the response headers": lambda: middleware.headers(entry, "HIT", time.time(), None),
        "a spelling not seen yet: route it, build it back (caching.resolve)": lambda: (
            caching.resolve(app, dict(environ))
        ),
        "after another worker's change: read the shared head": lambda: store.backend.get(
            store.head_prefix + path
        ),
        "... and a body this worker has not seen": lambda: store.backend.get("body:" + entry.etag),
    }
    micros = {}
    for label, call in steps.items():
        number = 1000
        micros[label] = min(timeit.repeat(call, number=number, repeat=5)) / number * 1e6
    return micros


# -- where a worker's time goes: py-spy --------------------------------------------------

# What the profile table reports: the share of one worker's samples spent inside each.
PROFILED: dict[str, Callable[[str], bool]] = {
    "gunicorn: handle one request (parse, call the app, send)": lambda f: f.startswith(
        "SyncWorker.handle_request ("
    ),
    "gunicorn: send headers and body": lambda f: f.startswith("Response.write ("),
    "gunicorn: close the connection, waiting for the client": lambda f: f.startswith(
        "close_graceful ("
    ),
    "the WSGI app": lambda f: (
        f.startswith("Flask.__call__ (") or (f.startswith("app (") and "raw_wsgi" in f)
    ),
    "CacheMiddleware.__call__": lambda f: f.startswith("CacheMiddleware.__call__ ("),
    "ResponseStore.get": lambda f: f.startswith("ResponseStore.get ("),
    "cachelib: FileSystemCache.get (the small head)": lambda f: f.startswith(
        "FileSystemCache.get ("
    ),
    "cachelib: unpickle": lambda f: f.startswith("BaseSerializer.load ("),
    "cachelib: file name (sha256)": lambda f: f.startswith("FileSystemCache._get_filename ("),
    "_entry_headers": lambda f: f.startswith("_entry_headers ("),
}


def profile(server: Server, path: str, settings: Settings, out: Path) -> dict[str, float] | None:
    """Sample one worker with py-spy during a wrk run; return the share of samples per PROFILED."""
    py_spy = shutil.which("py-spy", path=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    if py_spy is None:
        print("py-spy is not installed: .venv/bin/pip install py-spy", file=sys.stderr)
        return None
    url = f"http://127.0.0.1:{server.port}{path}"
    command = ["wrk", f"-t{settings.threads}", f"-c{settings.connections}"]
    load = subprocess.Popen([*command, f"-d{settings.duration}s", url], stdout=subprocess.DEVNULL)
    try:
        worker = str(worker_pids(server)[0])
        seconds = str(max(1, settings.duration - 2))
        options = ["-d", seconds, "-r", "200", "-f", "raw", "-o", str(out), "--nonblocking"]
        sampled = subprocess.run(
            [py_spy, "record", "-p", worker, *options],
            capture_output=True,
            text=True,
            check=False,
        )
    finally:
        load.wait()
    if sampled.returncode != 0:
        print(f"py-spy failed (it needs ptrace rights):\n{sampled.stderr}", file=sys.stderr)
        return None
    total = 0
    inside = dict.fromkeys(PROFILED, 0)
    for line in out.read_text(encoding="utf-8").splitlines():
        stack, _, count = line.rpartition(" ")
        frames = stack.split(";")
        total += int(count)
        for label, matches in PROFILED.items():
            if any(matches(frame) for frame in frames):
                inside[label] += int(count)
    return {label: 100 * n / max(total, 1) for label, n in inside.items()}


# -- the report -----------------------------------------------------------------------


@dataclass
class Case:
    """One wrk row: a label, the server it runs against, its request, its results per round."""

    label: str
    server: str
    path: str
    rounds: list[WrkResult]

    def median(self) -> WrkResult:
        """The round of median throughput (the lower middle one when even)."""
        ordered = sorted(self.rounds, key=lambda result: result.requests_per_s)
        return ordered[(len(ordered) - 1) // 2]


def ratios(hit: Case, raw: Case) -> tuple[float, float]:
    """Hit over raw: the median of the rounds' throughput ratios, and of their CPU-cost ratios.

    Each round runs hit and raw back to back, so a ratio within a round is
    little moved by other load on the machine; CPU per request even less.
    """
    throughput = [
        h.requests_per_s / r.requests_per_s for h, r in zip(hit.rounds, raw.rounds, strict=True)
    ]
    cost = [
        r.cpu_us_per_request / h.cpu_us_per_request
        for h, r in zip(hit.rounds, raw.rounds, strict=True)
    ]
    return statistics.median(throughput), statistics.median(cost)


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def report(
    settings: Settings,
    cases: dict[str, Case],
    misses: dict[str, list[float]],
    micros: dict[str, dict[str, float]],
    memory: dict[str, list[float]],
    sizes: dict[str, int],
    notes: dict[str, str],
    profiles: dict[str, dict[str, float]],
) -> str:
    lines = [
        f"# Cache benchmark, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        "",
        f"- Machine: {machine()}; load average (1, 5, 15 min) before: {notes['load_before']}, "
        f"after: {load_text()}. wrk runs on the same CPUs as gunicorn.",
        f"- gunicorn.conf.py with `-w {settings.workers}` (its gthread workers), access log "
        f"off (app and raw alike); wrk `-t{settings.threads} -c{settings.connections} "
        f"-d{settings.duration}s --latency` after a {settings.warmup} s warm-up; "
        f"{settings.rounds} interleaved round(s); each row shows the round of median req/s, "
        "each ratio the median of the rounds' ratios.",
        f"- {settings.problems} problems, loaded through the services in {notes['load_s']}; "
        f"`/api/problems` is {sizes[LIST] / 1024:,.0f} KiB, "
        f"`/api/problems/1` is {sizes[DETAIL] / 1024:,.1f} KiB.",
        "",
        "| Case | Request | Req/s | p50 | p99 | Worker CPU / request | Req/s of each round |",
        "|---|---|---:|---:|---:|---:|---|",
    ]
    for case in cases.values():
        middle = case.median()
        per_round = " / ".join(f"{result.requests_per_s:,.0f}" for result in case.rounds)
        errors = "; ".join(sorted({result.errors for result in case.rounds if result.errors}))
        lines.append(
            f"| {case.label} | `{case.path}` | {middle.requests_per_s:,.0f} | "
            f"{middle.p50_ms:.2f} ms | {middle.p99_ms:.2f} ms | "
            f"{middle.cpu_us_per_request:,.0f} us | {per_round}"
            f"{' (' + errors + ')' if errors else ''} |"
        )
    for path, times in misses.items():
        lines.append(
            f"| miss: cache cleared before each request | `{path}` | "
            f"{1000 / statistics.fmean(times):,.1f} | {statistics.median(times):.2f} ms | "
            f"{percentile(times, 0.99):.2f} ms | - | {len(times)} sequential requests, "
            "one client |"
        )
    lines += [
        "",
        "| Hit / raw | Throughput (req/s) | CPU cost (raw us / hit us) | Target |",
        "|---|---:|---:|---|",
    ]
    for path in (LIST, DETAIL):
        throughput, cost = ratios(cases[f"hit {path}"], cases[f"raw {path}"])
        verdict = "met" if throughput >= TARGET_RATIO else "**not met**"
        lines.append(
            f"| `{path}` | {throughput:.2f} | {cost:.2f} | {TARGET_RATIO} req/s: {verdict} |"
        )
    lines += [
        "",
        "Resident memory of the gunicorn workers after all the runs (`ps -o rss`):",
        "",
        "| Server | Each worker's RSS |",
        "|---|---|",
    ]
    for name, rss in memory.items():
        lines.append(f"| {name} | {', '.join(f'{mib:.1f} MiB' for mib in rss)} |")
    lines += [
        "",
        "The hit path in this process, without a server or sockets "
        "(microseconds per call, best of 5 x 1,000):",
        "",
        f"| Step | `{LIST}` | `{DETAIL}` |",
        "|---|---:|---:|",
    ]
    for label in micros[LIST]:
        depth = len(label) - len(label.lstrip("-"))
        name = "&nbsp;&nbsp;&nbsp;&nbsp;" * depth + label.lstrip("- ")
        lines.append(f"| {name} | {micros[LIST][label]:,.1f} | {micros[DETAIL][label]:,.1f} |")
    if profiles:
        lines += [
            "",
            "py-spy, one worker during an extra wrk run (percent of its samples inside each "
            "function, callees included; waits in system calls count as samples):",
            "",
            "| Inside | "
            + " | ".join(f"{key.split()[0]} `{key.split()[1]}`" for key in profiles)
            + " |",
            "|---|" + "---:|" * len(profiles),
        ]
        for label in PROFILED:
            shares = " | ".join(f"{profile[label]:.1f}" for profile in profiles.values())
            lines.append(f"| {label} | {shares} |")
    return "\n".join(lines) + "\n"


# -- the run --------------------------------------------------------------------------

LIST = "/api/problems"
DETAIL = "/api/problems/1"
SEARCH = "/api/search?q=tree"


def write_capture(captured: dict[str, Captured], path: Path) -> None:
    path.write_text(
        json.dumps(
            {
                url: {"status": status, "headers": headers, "body": base64.b64encode(body).decode()}
                for url, (status, headers, body) in captured.items()
            }
        ),
        encoding="utf-8",
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
            captured = {path: expect_hit(served.port, path) for path in (LIST, DETAIL)}
            capture_file = folder / "capture.json"
            write_capture(captured, capture_file)
            raw_env = {**env, "BENCH_RAW_CAPTURE": str(capture_file)}
            with gunicorn(
                "raw", "bench.raw_wsgi:app", raw_env, folder, ["-w", str(settings.workers)]
            ) as raw:
                for path in (LIST, DETAIL):
                    status, headers, body = request(raw.port, path)
                    kept = [(k, v) for k, v in headers if k.lower() not in HOP_HEADERS]
                    if (f"{status} OK", kept, body) != captured[path]:
                        raise RuntimeError(f"the raw app does not replay {path} exactly")
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
                            expect_hit(served.port, case.path)  # still a hit after the run
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
                expect_hit(served.port, path)
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
