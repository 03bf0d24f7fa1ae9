"""Load: reads, searches, writes and deletes against gunicorn with the default config.

    make load                       # or: .venv/bin/python bench/load.py [--help]

On a fresh temporary instance folder (migrated, seeded, a user and its tokens
made with the CLI, as a newcomer would), it serves ``wsgi:app`` with
gunicorn.conf.py exactly as `make run` does (its default workers and threads,
the access log on) and drives it with wrk and bench/load.lua: 64 connections
for 60 s. It then checks that every status was one the request could expect,
that wrk saw no socket error, that the server's log has no "database is
locked", and that each worker's resident memory at the end is within 10% of
what it was at 20 s. It prints a Markdown report, writes it to
bench/results/load.md, and exits 1 if a check failed. docs/benchmarks.md
explains it.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import os
import platform
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.common import call, flask, gunicorn, load_text, worker_rss  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "load.md"
SCRIPT = ROOT / "bench" / "load.lua"

# What each kind of request in bench/load.lua may be answered. Anything else,
# 429 and 5xx included, is unexpected.
EXPECTED = {
    "read": {200, 404},  # 404: a problem deleted meanwhile
    "list": {200},
    "stats": {200},
    "search": {200},
    "page": {200, 404},
    "create": {201},
    "clash": {201, 409},  # one "Load Clash" at a time; it is deleted now and then
    "patch": {200, 404},
    "delete": {204, 404},  # 404: already deleted by the other wrk thread
}
RSS_TOLERANCE = 0.10


@dataclass
class Settings:
    connections: int
    threads: int
    duration: int
    tokens: int
    timeout: int


@dataclass
class Samples:
    """Each worker's RSS (MiB) by second of the run."""

    by_second: dict[int, dict[int, float]] = field(default_factory=dict)


def gunicorn_settings(env: dict[str, str]) -> tuple[int, int]:
    """The workers and threads gunicorn.conf.py gives in this environment."""
    code = "import runpy; c = runpy.run_path('gunicorn.conf.py'); print(c['workers'], c['threads'])"
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    workers, threads = out.stdout.split()
    return int(workers), int(threads)


@dataclass
class WrkResult:
    """What bench/load.lua's done() printed."""

    statuses: Counter[tuple[str, int]]  # (kind of request, status) -> count
    errors: dict[str, int]  # wrk's socket errors: connect, read, write, timeout
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    max_ms: float

    @classmethod
    def parse(cls, output: str) -> WrkResult:
        def numbers(pattern: str) -> list[int]:
            found = re.search(pattern, output, re.MULTILINE)
            if found is None:
                raise RuntimeError(f"unexpected wrk output:\n{output}")
            return [int(value) for value in found.groups()]

        statuses: Counter[tuple[str, int]] = Counter()
        for kind, status, count in re.findall(r"^LOAD status (\w+) (\d+) (\d+)$", output, re.M):
            statuses[(kind, int(status))] += int(count)
        errors = {
            name: int(value)
            for name, value in re.findall(r"\b(connect|read|write|timeout)=(\d+)", output)
        }
        requests, duration_us = numbers(r"^LOAD requests=(\d+) duration_us=(\d+)$")
        p50, p99, worst = numbers(r"^LOAD latency p50_us=(\d+) p99_us=(\d+) max_us=(\d+)$")
        return cls(statuses, errors, requests, duration_us / 1e6, p50 / 1e3, p99 / 1e3, worst / 1e3)


# The access log's line (gunicorn.conf.py): the request id names the kind of request.
ACCESS_LINE = re.compile(r'^id=([a-z]+)-\d+-\d+ \S+ "[A-Z]+ [^"]*" \d{3} \S+ (\d+)ms', re.M)


def server_times(log_text: str) -> dict[str, list[int]]:
    """Milliseconds the server took for each request, by kind, from its access log."""
    times: dict[str, list[int]] = {}
    for kind, millis in ACCESS_LINE.findall(log_text):
        times.setdefault(kind, []).append(int(millis))
    return {kind: sorted(values) for kind, values in times.items()}


def percentile(values: list[int], fraction: float) -> int:
    return values[min(len(values) - 1, int(fraction * len(values)))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--connections", type=int, default=64, help="wrk connections")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--duration", type=int, default=60, help="seconds of load")
    parser.add_argument("--tokens", type=int, default=64, help="API tokens, used in turn")
    parser.add_argument(
        "--timeout", type=int, default=10, help="seconds before wrk counts a request as an error"
    )
    settings = Settings(**vars(parser.parse_args(argv)))
    if shutil.which("wrk") is None:
        print(
            "wrk is not installed. Debian or Ubuntu: sudo apt-get install -y wrk; "
            "macOS: brew install wrk. Then run `make load` again.",
            file=sys.stderr,
        )
        return 2
    early = min(20, settings.duration // 3)

    with tempfile.TemporaryDirectory(prefix="practice-load-") as tmp:
        folder = Path(tmp)
        env = {
            **os.environ,
            "PRACTICE_APP_INSTANCE": str(folder / "instance"),
            "FLASK_SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder / 'load.sqlite3'}",
        }
        workers, threads = gunicorn_settings(env)
        print("Migrating and seeding a temporary instance folder ...", flush=True)
        flask(env, "db", "upgrade")
        flask(env, "seed")
        password = secrets.token_urlsafe(16)
        flask(env, "users", "create", "loader", "--admin", stdin=password + "\n")
        print(f"Making {settings.tokens} API tokens with the CLI ...", flush=True)
        with concurrent.futures.ThreadPoolExecutor(4) as pool:
            made = pool.map(
                lambda n: flask(env, "tokens", "create", "loader", "--label", f"load {n}"),
                range(settings.tokens),
            )
            tokens = [out.strip().splitlines()[-1] for out in made]
        tokens_file = folder / "tokens.txt"
        tokens_file.write_text("\n".join(tokens) + "\n")
        tokens_file.chmod(0o600)

        log_path = folder / "gunicorn.log"
        with gunicorn("gunicorn", "wsgi:app", env, folder) as server:
            port = server.port
            seeded = int(get_max_id(port))
            booted = set(worker_rss(server))
            print(
                f"gunicorn: {workers} workers x {threads} threads; wrk -t{settings.threads} "
                f"-c{settings.connections} -d{settings.duration}s for {settings.duration} s ...",
                flush=True,
            )
            load_before = load_text()
            command = [
                "wrk",
                f"-t{settings.threads}",
                f"-c{settings.connections}",
                f"-d{settings.duration}s",
                f"--timeout={settings.timeout}s",
                "-s",
                str(SCRIPT),
                f"http://127.0.0.1:{port}",
                "--",
                str(tokens_file),
                str(seeded),
            ]
            started = time.monotonic()
            wrk = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
            samples = Samples()
            for second in sorted({early, *range(10, settings.duration, 10)}):
                time.sleep(max(0.0, started + second - time.monotonic()))
                samples.by_second[second] = worker_rss(server)
            output, _ = wrk.communicate(timeout=settings.duration + 60)
            samples.by_second[settings.duration] = worker_rss(server)
            load_after = load_text()
            final_pids = set(worker_rss(server))
            problems_left = len(get_json_list(port))
        log_text = log_path.read_text(errors="replace")

    result = WrkResult.parse(output.decode(errors="replace"))
    report, ok = make_report(
        settings,
        workers,
        threads,
        result,
        samples,
        early,
        log_text,
        booted == final_pids,
        problems_left,
        (load_before, load_after),
    )
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(report, encoding="utf-8")
    print()
    print(report)
    print(f"Written to {RESULTS.relative_to(ROOT)}")
    return 0 if ok else 1


def get_json_list(port: int) -> list[dict[str, Any]]:
    _status, _headers, body = call(port, "GET", "/api/problems", timeout=30)
    return list(json.loads(body))


def get_max_id(port: int) -> int:
    return max(int(problem["id"]) for problem in get_json_list(port))


def make_report(
    settings: Settings,
    workers: int,
    threads: int,
    result: WrkResult,
    samples: Samples,
    early: int,
    log_text: str,
    same_workers: bool,
    problems_left: int,
    loads: tuple[str, str],
) -> tuple[str, bool]:
    statuses, errors = result.statuses, result.errors
    requests, seconds = result.requests, result.seconds
    times = server_times(log_text)
    unexpected = {
        key: count for key, count in statuses.items() if key[1] not in EXPECTED.get(key[0], set())
    }
    socket_errors = sum(errors.values())
    locked = log_text.count("database is locked")
    tracebacks = log_text.count("Traceback")
    first, last = samples.by_second[early], samples.by_second[settings.duration]
    growth = {
        pid: (last[pid] - first[pid]) / first[pid] for pid in first if pid in last and first[pid]
    }
    rss_ok = same_workers and len(growth) == workers
    rss_ok = rss_ok and all(abs(g) <= RSS_TOLERANCE for g in growth.values())
    checks = {
        "no unexpected status": not unexpected,
        "no socket error": socket_errors == 0,
        'no "database is locked" in the server log': locked == 0,
        "no traceback in the server log": tracebacks == 0,
        f"each worker's RSS at {settings.duration} s within 10% of {early} s": rss_ok,
        "every status counted": sum(statuses.values()) == requests,
    }
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        f"# Load: {when}",
        "",
        f"- Machine: {platform.machine()}, {os.cpu_count()} CPUs, Python "
        f"{platform.python_version()}; load average (1/5/15 min) before: {loads[0]}, "
        f"after: {loads[1]}. wrk runs on the same CPUs as gunicorn.",
        f"- gunicorn.conf.py as `make run` uses it: {workers} workers x {threads} threads "
        "(gthread), access log on, SQLite, the file-system cache; the 36 seed problems.",
        f"- wrk `-t{settings.threads} -c{settings.connections} -d{settings.duration}s "
        f"--timeout {settings.timeout}s -s bench/load.lua`; writes with {settings.tokens} "
        "tokens of one admin user (made with the CLI) in turn, at the default rate limit.",
        "",
        f"{requests:,} requests in {seconds:.1f} s: **{requests / seconds:,.0f} req/s**; "
        f"latency p50 {result.p50_ms:.1f} ms, p99 {result.p99_ms:.1f} ms, "
        f"max {result.max_ms:.1f} ms (wrk's, queueing included). {problems_left} problems "
        "at the end.",
        "",
        "| Request | Share | Statuses | Expected | Server p50 / p99 |",
        "|---|---:|---|---|---:|",
    ]
    kinds = sorted(
        {kind for kind, _ in statuses},
        key=lambda k: -sum(count for (kind, _), count in statuses.items() if kind == k),
    )
    for kind in kinds:
        counts = {status: count for (k, status), count in statuses.items() if k == kind}
        share = sum(counts.values()) / max(1, requests)
        shown = ", ".join(f"{status}: {count:,}" for status, count in sorted(counts.items()))
        expected = ", ".join(str(status) for status in sorted(EXPECTED.get(kind, set())))
        served = times.get(kind)
        server = f"{percentile(served, 0.5)} / {percentile(served, 0.99)} ms" if served else "-"
        lines.append(f"| {kind} | {share:.0%} | {shown} | {expected or '-'} | {server} |")
    lines += [
        "",
        "Socket errors: " + ", ".join(f"{name} {count}" for name, count in errors.items()) + ".",
        f'"database is locked" in the server log: {locked}; tracebacks: {tracebacks}.',
        "",
        "| Worker RSS (MiB) | " + " | ".join(f"{s} s" for s in sorted(samples.by_second)) + " |",
        "|---|" + "---:|" * len(samples.by_second),
    ]
    for pid in sorted(samples.by_second[settings.duration]):
        row = [
            f"{samples.by_second[s][pid]:.1f}" if pid in samples.by_second[s] else "-"
            for s in sorted(samples.by_second)
        ]
        lines.append(f"| worker {pid} | " + " | ".join(row) + " |")
    if growth:
        lines.append(
            f"\nFrom {early} s to {settings.duration} s: "
            + ", ".join(f"{g:+.1%}" for g in growth.values())
            + ("" if same_workers else " (a worker was replaced during the run)")
            + "."
        )
    lines += ["", "| Check | |", "|---|---|"]
    lines += [f"| {name} | {'ok' if passed else '**FAILED**'} |" for name, passed in checks.items()]
    if unexpected:
        lines.append(
            "\nUnexpected: " + ", ".join(f"{k} {s}: {n}" for (k, s), n in unexpected.items())
        )
    return "\n".join(lines) + "\n", all(checks.values())


if __name__ == "__main__":
    sys.exit(main())
