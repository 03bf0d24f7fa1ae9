"""``bench/growth.py``'s Markdown report: growth by size, writes and bursts, Next.js, targets."""

from __future__ import annotations

import statistics
from datetime import UTC, datetime
from typing import Any

from bench.catalogue_growth.results import BackendResult, SizeResult
from bench.catalogue_growth.settings import GUNICORN_FLAGS, TARGETS, Settings
from bench.common import load_text, machine
from bench.wrk import WrkResult


def p50(values: list[float]) -> float:
    return statistics.median(values)


def fmt_ms(ms: float) -> str:
    return f"{ms:,.0f} ms" if ms >= 100 else f"{ms:.1f} ms" if ms >= 10 else f"{ms:.2f} ms"


def median_rps(runs: list[WrkResult]) -> WrkResult:
    ordered = sorted(runs, key=lambda r: r.requests_per_s)
    return ordered[(len(ordered) - 1) // 2]


def ratio(ours: list[WrkResult], theirs: list[WrkResult]) -> float:
    """The median over rounds of ours / theirs within the same round."""
    return statistics.median(
        a.requests_per_s / b.requests_per_s for a, b in zip(ours, theirs, strict=True)
    )


def verdict(met: bool) -> str:
    return "met" if met else "**missed**"


LABELS = {
    "sqlite": "SQLite, file-system cache",
    "postgres": "PostgreSQL, Redis cache",
}


def report(
    settings: Settings, outcomes: list[BackendResult], state: dict[str, Any], notes: dict[str, str]
) -> str:
    lines = [
        f"# Growth benchmark, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        "",
        f"- Machine: {machine()}; load average (1, 5, 15 min) before: {notes['load_before']}, "
        f"after: {load_text()}. wrk runs on the same CPUs as gunicorn.",
        f"- gunicorn.conf.py with `{' '.join(GUNICORN_FLAGS)}` (the outside harness's flags), "
        "access log off, for the app and the raw WSGI app alike; wrk "
        f"`-t1 -c{settings.connections} -d{settings.duration}s` after a {settings.warmup} s "
        f"warm-up; {settings.rounds} interleaved rounds of wrk, {settings.cold_rounds} of "
        f"searches and cold lists (after {settings.cold_warmups} cold lists unmeasured).",
        f"- Problems loaded with SQLAlchemy Core (keys by `rules.name_key`, grams by "
        f"`search.name_grams`): {notes['loads']}.",
        "",
        "## Growth",
        "",
        "| Database, cache | Problems | Search, one match, p50 | Search, no match, p50 "
        "| Cold list, median | `/api/problems` | List hit req/s | Raw WSGI req/s | Hit / raw "
        "| Worker RSS (app; raw) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for outcome in outcomes:
        for sized in outcome.sizes:
            unstored = (
                f" ({sized.unstored} of {len(sized.cold)} not stored)" if sized.unstored else ""
            )
            if not sized.hit:
                lines.append(
                    f"| {LABELS[outcome.backend]} | {sized.size:,} "
                    f"| {fmt_ms(p50(sized.search_one))} | {fmt_ms(p50(sized.search_none))} "
                    f"| {fmt_ms(p50(sized.cold))}{unstored} | {size_text(sized.list_bytes)} "
                    f"| never a hit | - | - | {'/'.join(f'{m:.0f}' for m in sized.rss)} MiB |"
                )
                continue
            hit, raw = median_rps(sized.hit), median_rps(sized.raw)
            rss = "/".join(f"{m:.0f}" for m in sized.rss)
            raw_rss = "/".join(f"{m:.0f}" for m in sized.raw_rss)
            lines.append(
                f"| {LABELS[outcome.backend]} | {sized.size:,} | {fmt_ms(p50(sized.search_one))} "
                f"| {fmt_ms(p50(sized.search_none))} | {fmt_ms(p50(sized.cold))}{unstored} "
                f"| {size_text(sized.list_bytes)} | {hit.requests_per_s:,.1f} "
                f"| {raw.requests_per_s:,.1f} | {ratio(sized.hit, sized.raw):.2f} "
                f"| {rss}; {raw_rss} MiB |"
            )
    lines += [
        "",
        "Each round, by catalogue (search p50 of the round; cold list; hit / raw req/s):",
        "",
        "| Database | Problems | Search p50 per round | Cold list per round "
        "| Hit / raw req/s per round |",
        "|---|---:|---|---|---|",
    ]
    for outcome in outcomes:
        for sized in outcome.sizes:
            lines.append(
                f"| {outcome.backend} | {sized.size:,} "
                f"| {' / '.join(f'{v:.2f}' for v in sized.search_one_rounds)} ms "
                f"| {' / '.join(f'{v:,.0f}' for v in sized.cold)} ms "
                f"| {pairs(sized.hit, sized.raw) or 'never a hit'}"
                f"{errors_text(sized.hit + sized.raw)} |"
            )
    lines += [
        "",
        "## At 1,000 problems: writes and bursts",
        "",
        "| Database, cache | Worker CPU per POST, kept-alive connection (median of rounds) "
        "| Each round | POST p50, client | Worker CPU per POST, new connection each "
        "| POST p50, client | PostgreSQL's CPU per POST | Renders per burst of "
        f"{settings.burst_size} after a PATCH | Answers | Burst p50 |",
        "|---|---:|---|---:|---:|---:|---:|---|---|---:|",
    ]
    for outcome in outcomes:
        db_cpu = (
            f"{p50(outcome.post_db_cpu_ms):.2f} ms" if outcome.post_db_cpu_ms else "- (in process)"
        )
        answers = ", ".join(f"{k}: {v:,}" for k, v in sorted(outcome.burst_answers.items()))
        lines.append(
            f"| {LABELS[outcome.backend]} | {p50(outcome.post_cpu_ms):.2f} ms "
            f"| {' / '.join(f'{v:.2f}' for v in outcome.post_cpu_ms)} "
            f"| {fmt_ms(p50(outcome.post_ms))} | {p50(outcome.post_new_cpu_ms):.2f} ms "
            f"| {fmt_ms(p50(outcome.post_new_ms))} | {db_cpu} "
            f"| {', '.join(str(n) for n in outcome.bursts)} | {answers} "
            f"| {fmt_ms(p50(outcome.burst_ms))} |"
        )
    lines += ["", "## Against Next.js 14, same data (1,000 problems, SQLite)", ""]
    runs = state.get("runs")
    if runs is None:
        lines.append(f"Not measured: {state.get('error', 'skipped (--no-next)')}.")
    else:
        rows = state["rows"]
        lines += [
            f"Next.js {state['next_version']} (`next start` of the app `--next-ref` names, "
            "seeded with our `GET /api/problems` body). Search is "
            f"`q={state['query']}`: {rows[0]} rows from us, {rows[1]} from Next "
            f"(bodies {'identical' if state['same_search'] else '**different**'} but our final "
            f"newline); the lists are {'identical' if state['same_list'] else '**different**'} "
            "but our final newline.",
            "",
            "| Route | Ours req/s | Next.js req/s | Ours / Next (median of rounds) | Our p50 "
            "| Next p50 | Rounds (ours:Next) | Target |",
            "|---|---:|---:|---:|---:|---:|---|---|",
        ]
        for name, label in (
            ("search", f"search `q={state['query']}`, dynamic"),
            ("whoami", "whoami, dynamic"),
            ("list", "list, our hit vs Next's static route"),
        ):
            ours, theirs = runs[name]["ours"], runs[name]["next"]
            mo, mt = median_rps(ours), median_rps(theirs)
            value = ratio(ours, theirs)
            target = (
                f"{TARGETS['next']}x: {verdict(value >= TARGETS['next'])}"
                if name != "list"
                else "-"
            )
            per_round = pairs(ours, theirs)
            lines.append(
                f"| {label} | {mo.requests_per_s:,.0f} | {mt.requests_per_s:,.0f} | {value:.2f}x "
                f"| {mo.p50_ms:.2f} ms | {mt.p50_ms:.2f} ms | {per_round}"
                f"{errors_text(ours + theirs)} | {target} |"
            )
    lines += ["", "## Targets", "", "| Target | " + " | ".join(
        LABELS[o.backend] for o in outcomes) + " |", "|---|" + "---|" * len(outcomes)]  # fmt: skip
    lines += target_rows(outcomes)
    return "\n".join(lines) + "\n"


def target_rows(outcomes: list[BackendResult]) -> list[str]:
    def by_size(outcome: BackendResult) -> dict[int, SizeResult]:
        return {s.size: s for s in outcome.sizes}

    rows: dict[str, list[str]] = {}
    for outcome in outcomes:
        sized = by_size(outcome)
        small, large = min(sized), max(sized)
        growth = p50(sized[large].search_one) / p50(sized[small].search_one)
        rows.setdefault(
            f"search p50, one match, {large:,} / {small:,} <= {TARGETS['search_growth']}x", []
        ).append(f"{growth:.2f}x: {verdict(growth <= TARGETS['search_growth'])}")
        cold_small = p50(sized[small].cold)
        rows.setdefault(f"cold list at {small:,} <= {TARGETS['cold_small_ms']:.0f} ms", []).append(
            f"{fmt_ms(cold_small)}: {verdict(cold_small <= TARGETS['cold_small_ms'])}"
        )
        cold_large = p50(sized[large].cold)
        rows.setdefault(
            f"cold list at {large:,} <= {TARGETS['cold_large_ms'] / 1000:.1f} s", []
        ).append(f"{fmt_ms(cold_large)}: {verdict(cold_large <= TARGETS['cold_large_ms'])}")
        for size in sorted({small, large}):
            if not sized[size].hit:
                rows.setdefault(
                    f"list hit / raw WSGI at {size:,} >= {TARGETS['hit_raw']}", []
                ).append("**missed**: never a hit")
                continue
            value = ratio(sized[size].hit, sized[size].raw)
            rows.setdefault(f"list hit / raw WSGI at {size:,} >= {TARGETS['hit_raw']}", []).append(
                f"{value:.2f}: {verdict(value >= TARGETS['hit_raw'])}"
            )
        cpu = p50(outcome.post_cpu_ms)
        label = f"worker CPU per POST, kept-alive connection <= {TARGETS['post_cpu_ms']:.0f} ms"
        rows.setdefault(label, []).append(f"{cpu:.2f} ms: {verdict(cpu <= TARGETS['post_cpu_ms'])}")
        new = p50(outcome.post_new_cpu_ms)
        label = f"worker CPU per POST, new connection each <= {TARGETS['post_cpu_ms']:.0f} ms"
        rows.setdefault(label, []).append(f"{new:.2f} ms: {verdict(new <= TARGETS['post_cpu_ms'])}")
        worst = max(outcome.bursts)
        rows.setdefault("renders per burst of 64 after a write: 1", []).append(
            f"at most {worst}: {verdict(worst <= TARGETS['renders'])}"
        )
    return [f"| {label} | {' | '.join(cells)} |" for label, cells in rows.items()]


def pairs(ours: list[WrkResult], theirs: list[WrkResult]) -> str:
    """Each round's req/s, ``ours:theirs``."""
    return " / ".join(
        f"{a.requests_per_s:,.0f}:{b.requests_per_s:,.0f}"
        for a, b in zip(ours, theirs, strict=True)
    )


def size_text(size: int) -> str:
    return f"{size / 1024:,.0f} KiB" if size < 10 * 1024 * 1024 else f"{size / 2**20:,.1f} MiB"


def errors_text(results: list[WrkResult]) -> str:
    errors = sorted({r.errors for r in results if r.errors})
    return f" ({'; '.join(errors)})" if errors else ""
