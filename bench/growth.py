"""Growth: how the read path's costs grow with the catalogue, on SQLite and on PostgreSQL.

    make bench-growth               # or: .venv/bin/python bench/growth.py [--help]

For 1,000, 10,000 and 100,000 problems (the same problems: each catalogue is
the one before plus more), on SQLite with the file-system cache and on
PostgreSQL with Redis, it serves each catalogue with gunicorn the way the
outside harness does (``-w 4 -k gthread --threads 2``) and measures, in
interleaved rounds: a search that matches exactly one problem (every name
holds a unique token, ``k000042``) and one that matches none, the cold list
(``GET /api/problems`` right after a ``PATCH``), a list hit against a raw
WSGI app serving the same bytes under the same gunicorn (wrk ``-t1 -c32``),
and the workers' memory. At 1,000 problems it also measures the workers' CPU
per ``POST /api/problems``, the renders a burst of 64 concurrent GETs makes
after a write (the miss counter of ``/metrics``), and, on SQLite, search,
whoami and the list against a Next.js 14 app doing the same routes
(``--next-ref PATH``: its folder, with package.json and package-lock.json)
serving the very same problems; without it, it says Next.js was not measured. It prints Markdown
tables and writes them to bench/results/growth.md. docs/benchmarks.md explains
the rows.

This file runs each backend in turn and writes the report; its parts are in
``bench/catalogue_growth/``.
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
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.catalogue_growth.catalogue import Catalogue  # noqa: E402
from bench.catalogue_growth.nextjs import next_query  # noqa: E402
from bench.catalogue_growth.report import report  # noqa: E402
from bench.catalogue_growth.results import BackendResult  # noqa: E402
from bench.catalogue_growth.rounds import measure_backend  # noqa: E402
from bench.catalogue_growth.servers import postgres, postgres_instances, sqlite_instances  # noqa: E402
from bench.catalogue_growth.settings import Settings  # noqa: E402
from bench.common import load_text  # noqa: E402
from devservers.processes import free_port  # noqa: E402
from devservers.redis import redis_server  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "growth.md"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument(
        "--sizes", default="1000,10000,100000", help="catalogue sizes, ascending (comma-separated)"
    )
    parser.add_argument(
        "--backends", default="sqlite,postgres", help="sqlite, postgres or both (comma-separated)"
    )
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds of wrk runs")
    parser.add_argument("--duration", type=int, default=5, help="seconds of each wrk run")
    parser.add_argument("--warmup", type=int, default=1, help="seconds of wrk before each run")
    parser.add_argument("--connections", type=int, default=32, help="wrk connections (-t1)")
    parser.add_argument(
        "--search-requests", type=int, default=40, help="one-match searches per size and round"
    )
    parser.add_argument(
        "--cold-rounds", type=int, default=5, help="rounds of searches and cold lists"
    )
    parser.add_argument(
        "--cold-warmups",
        type=int,
        default=6,
        help="cold lists per size before the measured ones (each worker's first opens connections)",
    )
    parser.add_argument("--posts", type=int, default=100, help="POSTs per round")
    parser.add_argument("--bursts", type=int, default=8, help="bursts of GETs after a PATCH")
    parser.add_argument("--burst-size", type=int, default=64, help="concurrent GETs per burst")
    parser.add_argument("--no-next", dest="next", action="store_false", help="skip Next.js")
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
    catalogue = Catalogue()
    query, matches = next_query(catalogue, settings.sizes[0])
    state: dict[str, Any] = {"query": query, "matches": matches}
    outcomes: list[BackendResult] = []
    loads: list[str] = []
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="practice-growth-") as tmp:
        folder = Path(tmp)
        for backend in settings.backends:
            with contextlib.ExitStack() as stack:
                if backend == "sqlite":
                    instances = sqlite_instances(folder, settings.sizes, catalogue)
                    postmaster = 0
                elif backend == "postgres":
                    base_url, postmaster = stack.enter_context(postgres())
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
                compare = state if (backend == "sqlite" and settings.next) else None
                outcomes.append(measure_backend(instances, settings, folder, postmaster, compare))
            minutes = (time.monotonic() - started) / 60
            notes["loads"] = "; ".join(loads) + f"; the whole run took {minutes:.1f} min"
            RESULTS.parent.mkdir(parents=True, exist_ok=True)
            RESULTS.write_text(report(settings, outcomes, state, notes), encoding="utf-8")
    notes["loads"] = (
        "; ".join(loads) + f"; the whole run took {(time.monotonic() - started) / 60:.1f} min"
    )
    text = report(settings, outcomes, state, notes)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(text, encoding="utf-8")
    print()
    print(text)
    print(f"Written to {RESULTS.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
