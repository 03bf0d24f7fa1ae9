"""Search as in life: a Zipf mix of 1,000 queries, under a write a second, against Next.js 14.

    make bench-search               # or: .venv/bin/python bench/search.py [--help]

For 1,000 and 100,000 problems (``--sizes``; ``bench/growth.py``'s catalogues:
the same problems, each the one before plus more), on SQLite with the file
cache (``--backends sqlite,postgres`` adds PostgreSQL with Redis), it serves
each catalogue with gunicorn as growth.py does and, given ``--next-ref PATH``
(or ``PRACTICE_NEXT_REF``), the Next.js 14 reference app built on the very
same problems. Both sides are sent ONE sequence of requests: 20,000 searches
drawn from a Zipf distribution (s = 1.1, a fixed seed) over 1,000 queries of
the catalogue's names, each matching at most one of our pages, so that both
answer the same bytes (checked). wrk walks it with ``search_mix/mix.lua``
while a ``POST /api/problems`` lands every second on the side measured (ours
then drops every search its data cache holds). Interleaved rounds of ours,
Next's ``/api/search`` and Next's ``/api/search-cached``: req/s, p50, p99,
our ``X-Data-Cache`` hit ratio, and ours against the better of Next's two
(targets: 1.5x at 1,000 problems, 10x at 100,000). Without ``--next-ref`` it
says Next.js was not measured. It prints Markdown and writes it to
bench/results/search.md; docs/benchmarks.md explains the rows.

This file is the run, in order; its parts are in ``bench/search_mix/``.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.catalogue_growth.catalogue import Catalogue  # noqa: E402
from bench.catalogue_growth.servers import postgres, postgres_instances, sqlite_instances  # noqa: E402
from bench.common import load_text  # noqa: E402
from bench.search_mix.queries import make_mix  # noqa: E402
from bench.search_mix.report import report  # noqa: E402
from bench.search_mix.settings import Settings  # noqa: E402
from bench.search_mix.sides import SizeOutcome, measure_size  # noqa: E402
from devservers.processes import free_port  # noqa: E402
from devservers.redis import redis_server  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "search.md"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--sizes", default="1000,100000", help="catalogue sizes (comma-separated)")
    parser.add_argument(
        "--backends", default="sqlite", help="sqlite, postgres or both (comma-separated)"
    )
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds of wrk runs")
    parser.add_argument("--duration", type=int, default=10, help="seconds of each wrk run")
    parser.add_argument("--warmup", type=int, default=2, help="seconds of wrk before each run")
    parser.add_argument("--connections", type=int, default=32, help="wrk connections")
    parser.add_argument("--threads", type=int, default=1, help="wrk threads")
    parser.add_argument("--queries", type=int, default=1000, help="distinct queries ranked")
    parser.add_argument("--requests", type=int, default=20000, help="length of the sequence")
    parser.add_argument("--zipf-s", type=float, default=1.1, help="the Zipf exponent")
    parser.add_argument("--seed", type=int, default=2026, help="random.Random's seed")
    parser.add_argument(
        "--write-every",
        type=int,
        default=1,
        help="whole seconds between writes during a run (0: none, for a diagnosis only)",
    )
    parser.add_argument(
        "--next-ref",
        type=Path,
        default=os.environ.get("PRACTICE_NEXT_REF") or None,
        help="folder of the Next.js 14 app to measure against (default: $PRACTICE_NEXT_REF; "
        "none: Next.js is not measured, and the report says so)",
    )
    args = parser.parse_args(argv)
    settings = Settings(
        **{
            **vars(args),
            "sizes": sorted(int(s) for s in args.sizes.split(",")),
            "backends": [b.strip() for b in args.backends.split(",") if b.strip()],
        }
    )
    if shutil.which("wrk") is None:
        print("wrk is not installed (Debian: apt-get install -y wrk; macOS: brew install wrk)")
        return 2
    notes = {"load_before": load_text()}
    started = time.monotonic()
    catalogue = Catalogue()
    outcomes: list[SizeOutcome] = []
    loads: list[str] = []
    with tempfile.TemporaryDirectory(prefix="practice-search-") as tmp:
        folder = Path(tmp)
        mix = make_mix(
            catalogue,
            settings.sizes,
            settings.queries,
            settings.requests,
            settings.zipf_s,
            settings.seed,
            folder / "paths.txt",
        )
        for backend in settings.backends:
            with contextlib.ExitStack() as stack:
                if backend == "sqlite":
                    instances = sqlite_instances(folder, settings.sizes, catalogue)
                elif backend == "postgres":
                    base_url, _postmaster = stack.enter_context(postgres())
                    redis_url = stack.enter_context(redis_server(free_port(), folder))
                    instances = postgres_instances(
                        base_url, redis_url, folder, settings.sizes, catalogue
                    )
                else:
                    raise SystemExit(f"unknown backend {backend!r}")
                loads.append(
                    f"{backend} "
                    + ", ".join(
                        f"{i.size - (j and instances[j - 1].size):,} in {i.load_s:.1f} s"
                        for j, i in enumerate(instances)
                    )
                )
                for instance in instances:
                    outcomes.append(measure_size(instance, mix, settings, folder))
        minutes = (time.monotonic() - started) / 60
        notes["loads"] = "; ".join(loads) + f"; the whole run took {minutes:.1f} min"
        text = report(settings, mix, outcomes, notes)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(text, encoding="utf-8")
    print()
    print(text)
    print(f"Written to {RESULTS.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
