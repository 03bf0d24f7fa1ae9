"""``bench/search.py``'s Markdown: each side's figures, ours against the yardstick, the targets."""

from __future__ import annotations

import statistics
from datetime import UTC, datetime

from bench.catalogue_growth.report import errors_text, median_rps, verdict
from bench.catalogue_growth.settings import GUNICORN_FLAGS
from bench.common import load_text, machine
from bench.search_mix.queries import Mix
from bench.search_mix.runs import Run
from bench.search_mix.settings import LABELS, PAGE, SIDES, TARGETS, Settings
from bench.search_mix.sides import SizeOutcome

BACKENDS = {"sqlite": "SQLite, file-system cache", "postgres": "PostgreSQL, Redis cache"}
REVALIDATE_NOTE = (
    "The Next.js reference's `POST /api/problems` does not call `revalidateTag('problems')`, "
    "so the writes never invalidate its `/api/search-cached`: every query is computed once "
    "and then served from its data cache for the rest of the run, while ours drops every "
    "search on each write. Its cached figure is therefore an upper bound for Next.js."
)


def yardstick(outcome: SizeOutcome) -> tuple[str, list[Run]] | None:
    """The better of Next's two searches (by median req/s), and its runs; None if not measured."""
    sides = [(side, outcome.runs[side]) for side in ("next", "next-cached") if side in outcome.runs]
    if not sides:
        return None
    return max(sides, key=lambda item: median_rps([r.wrk for r in item[1]]).requests_per_s)


def ratio(ours: list[Run], theirs: list[Run]) -> float:
    """The median over rounds of ours / theirs, req/s, within the same round."""
    return statistics.median(
        a.wrk.requests_per_s / b.wrk.requests_per_s for a, b in zip(ours, theirs, strict=True)
    )


def body_text(size: float) -> str:
    """A body's size: in bytes below 10 KiB, else KiB."""
    return f"{size:,.0f} B" if size < 10 * 1024 else f"{size / 1024:,.1f} KiB"


def hit_text(runs: list[Run], mix: Mix, every: int) -> str:
    """Our hit ratio, and what it would be if each write alone made misses (``repeat_share``)."""
    hits = sum(r.hits for r in runs)
    marked = hits + sum(r.misses for r in runs)
    if not marked:
        return "- (no header)"
    if not every:
        return f"{hits / marked:.1%} ({hits:,} of {marked:,})"
    rate = statistics.median(r.wrk.requests_per_s for r in runs)
    model = mix.repeat_share(round(rate * every))
    return f"{hits / marked:.1%} ({hits:,} of {marked:,}; model {model:.1%})"


def writes_text(runs: list[Run]) -> str:
    """Writes answered 201 in the measured runs, and their seconds."""
    return f"{sum(r.created for r in runs)} in {sum(r.seconds for r in runs)} s"


def side_rows(outcome: SizeOutcome, mix: Mix, every: int) -> list[str]:
    rows = []
    for side, _route in SIDES:
        runs = outcome.runs.get(side)
        if not runs:
            continue
        results = [r.wrk for r in runs]
        middle = median_rps(results)
        not_ok = sum(r.not_ok for r in runs)
        cpu = statistics.median(r.wrk.cpu_us_per_request for r in runs) / 1000
        body = sum(r.body_bytes for r in runs) / max(1, sum(r.answers for r in runs))
        per_round = " / ".join(f"{r.requests_per_s:,.0f}" for r in results)
        rows.append(
            f"| {BACKENDS[outcome.backend]} | {outcome.size:,} | {LABELS[side]} "
            f"| {middle.requests_per_s:,.0f} | {middle.p50_ms:.1f} ms | {middle.p99_ms:.1f} ms "
            f"| {body_text(body)} "
            f"| {hit_text(runs, mix, every) if side == 'ours' else '-'} "
            f"| {f'{cpu:.2f} ms' if side == 'ours' else '-'} | {writes_text(runs)} "
            f"| {per_round}{errors_text(results)}{f' ({not_ok} not 200)' if not_ok else ''} |"
        )
    return rows


def versus_rows(outcome: SizeOutcome) -> list[str]:
    best = yardstick(outcome)
    target = TARGETS.get(outcome.size)
    goal = f">= {target:g}x" if target else "-"
    if best is None:
        return [
            f"| {BACKENDS[outcome.backend]} | {outcome.size:,} | - | - | not measured | - | - "
            f"| {goal} | not measured |"
        ]
    side, theirs = best
    ours = outcome.runs["ours"]
    each = [f"{ratio(ours, outcome.runs[s]):.2f}x" for s in ("next", "next-cached")]
    value = ratio(ours, theirs)
    pairs = " / ".join(
        f"{a.wrk.requests_per_s:,.0f}:{b.wrk.requests_per_s:,.0f}"
        for a, b in zip(ours, theirs, strict=True)
    )
    met = verdict(value >= target) if target else "-"
    return [
        f"| {BACKENDS[outcome.backend]} | {outcome.size:,} | {each[0]} | {each[1]} "
        f"| {LABELS[side]} | **{value:.2f}x** | {pairs} | {goal} | {met} |"
    ]


def report(settings: Settings, mix: Mix, outcomes: list[SizeOutcome], notes: dict[str, str]) -> str:
    kinds = mix.kinds()
    queries = {
        kind: sum(q.kind == kind for q in mix.queries) for kind in ("name", "prefix", "token")
    }
    rows = ", ".join(f"{mix.mean_rows(size):.1f} at {size:,}" for size in settings.sizes)
    versions = sorted({o.next_version for o in outcomes if o.next_version})
    errors = sorted({o.next_error for o in outcomes if o.next_error})
    lines = [
        f"# Search as in life: a Zipf mix against Next.js, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        "",
        f"- Machine: {machine()}; load average (1, 5, 15 min) before: {notes['load_before']}, "
        f"after: {load_text()}. wrk runs on the same CPUs as the servers.",
        f"- Ours: gunicorn.conf.py with `{' '.join(GUNICORN_FLAGS)}`, access log off. Next.js "
        + (
            f"{', '.join(versions)}: `next start` of the `--next-ref` app, built on our "
            "`GET /api/problems` body (the same problems)."
            if versions
            else f"**not measured**: {'; '.join(errors) or 'not asked'}."
        ),
        f"- wrk `-t{settings.threads} -c{settings.connections} -d{settings.duration}s` after a "
        f"{settings.warmup} s warm-up, with `bench/search_mix/mix.lua`; interleaved rounds "
        f"({settings.rounds}) of ours, Next's `/api/search`, Next's `/api/search-cached`. "
        "Under every run (warm-up included), the script sends a `POST /api/problems` "
        + (
            f"every {settings.write_every} s (of the clock) on the side measured, on one of "
            "wrk's connections (ours with a bearer token made by the CLI)."
            if settings.write_every
            else "**never: `--write-every 0`, a diagnosis, not the benchmark**."
        ),
        f"- The mix: {len(mix.queries):,} distinct queries ({queries['name']} names without "
        f"their unique word, {queries['prefix']} six-character prefixes of the unique words, "
        f"{queries['token']} unique words), each matching 1 to {PAGE} problems at every size, "
        f"so that both sides answer the same rows; {len(mix.sequence):,} requests drawn from "
        f"Zipf(s = {settings.zipf_s:g}) over that ranking with `random.Random({settings.seed})`: "
        f"{mix.distinct():,} distinct queries, the top 10 are {mix.head_share(10):.0%} of the "
        f"requests; by kind {', '.join(f'{k} {v:,}' for k, v in kinds.most_common())}; "
        f"rows per answer {rows}. Each wrk thread walks the sequence in order from its own "
        "offset, its connections taking the next path in turn.",
        f"- Catalogues loaded: {notes['loads']}.",
        f"- {REVALIDATE_NOTE}",
        "",
        "## Each side",
        "",
        "| Database, cache | Problems | Side | req/s (median of rounds) | p50 | p99 | Mean body "
        "| X-Data-Cache HIT | Worker CPU / request | Writes (201) | req/s per round |",
        "|---|---:|---|---:|---:|---:|---:|---:|---:|---|---|",
    ]
    for outcome in outcomes:
        lines += side_rows(outcome, mix, settings.write_every)
    lines += [
        "",
        "Mean body: the timed runs' bytes over their answers. X-Data-Cache HIT: our answers "
        "marked HIT over all marked, every round; the model is the share of the sequence's "
        "requests that repeat a query asked since the last write, at our median req/s: the "
        "hit ratio if each write's dropping every entry were the only cause of a miss. Worker "
        "CPU: our gunicorn workers' CPU in the measured run over its requests. Writes: "
        "answered 201 in the measured runs (their answers are in wrk's latencies, not in the "
        "body sizes nor the hit ratio).",
        "",
        "## Ours against the yardstick (the better of Next's two)",
        "",
        "Each ratio is the median over rounds of ours / theirs within the round (req/s).",
        "",
        "| Database, cache | Problems | Ours / Next plain | Ours / Next cached | Yardstick "
        "| Ours / yardstick | Rounds (ours:yardstick req/s) | Target | |",
        "|---|---:|---:|---:|---|---:|---|---|---|",
    ]
    for outcome in outcomes:
        lines += versus_rows(outcome)
    lines += [
        "",
        "## The answers compared (before any write)",
        "",
        "| Database | Problems | Next's `/api/search`: identical to ours | `/api/search-cached` "
        "(a sample) | Mean body over the queries, ours; Next's | Differences |",
        "|---|---:|---|---|---|---|",
    ]
    for outcome in outcomes:
        if not outcome.compared:
            lines.append(
                f"| {outcome.backend} | {outcome.size:,} | not measured | - "
                f"| {body_text(outcome.our_bytes / len(mix.queries))}; - | - |"
            )
            continue
        lines.append(
            f"| {outcome.backend} | {outcome.size:,} "
            f"| {outcome.identical:,} of {outcome.compared:,} "
            f"| {outcome.cached_identical} of {outcome.cached_compared} "
            f"| {body_text(outcome.our_bytes / len(mix.queries))}; "
            f"{body_text(outcome.next_bytes / outcome.compared)} "
            f"| {'; '.join(outcome.differences) or 'none (but our final newline)'} |"
        )
    return "\n".join(lines) + "\n"
