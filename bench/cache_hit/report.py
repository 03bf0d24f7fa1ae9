"""``bench/run.py``'s Markdown report: the wrk rows, hit over raw, memory, the hit path's parts."""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from datetime import UTC, datetime

from bench.cache_hit.py_spy import PROFILED
from bench.cache_hit.settings import DETAIL, LIST, TARGET_RATIO, Settings
from bench.common import load_text, machine
from bench.wrk import WrkResult


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
