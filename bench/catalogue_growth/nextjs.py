"""Next.js 14 on the same data: search, whoami and the list, ours against theirs (``--next-ref``).

The app ``--next-ref`` names (or ``PRACTICE_NEXT_REF``) is copied, installed
and built once per data under ~/.cache/practice-bench, seeded with our own
``GET /api/problems`` body, served with ``next start`` and measured with the
same wrk, interleaved with ours. Without node, npm or the app, the report says why.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from bench.catalogue_growth.catalogue import Catalogue
from bench.catalogue_growth.measures import wrk
from bench.catalogue_growth.settings import LIST, WHOAMI, Settings
from bench.common import Server, call, serve
from bench.problems import ACTIONS, TOPICS
from bench.wrk import WrkResult
from devservers.processes import free_port

NEXT_CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "practice-bench"


def next_query(catalogue: Catalogue, size: int) -> tuple[str, int]:
    """A word of the names that matches as many of ``size`` problems as possible, at most 50.

    Our search answers 50 rows a page and Next's all of them: at 50 or fewer
    both answer the same rows.
    """
    names = [catalogue.name(i).lower() for i in range(size)]
    words = {w.lower() for phrase in [*ACTIONS, *TOPICS] for w in phrase.split() if len(w) > 3}
    counted = {w: sum(w in n for n in names) for w in sorted(words)}
    best = max((n, w) for w, n in counted.items() if n <= 50)
    return best[1], best[0]


def prepare_next(list_body: bytes, source: Path | None) -> tuple[Path, dict[str, str]] | str:
    """A copy of the Next.js app at ``source``, with its packages and a build of ``list_body``.

    Kept under ~/.cache/practice-bench (npm ci once; one build per data), so a
    second run starts at once. Returns its folder and environment, or why not.
    """
    if shutil.which("node") is None or shutil.which("npm") is None:
        return "node and npm are not installed"
    if source is None:
        return "no Next.js app given (--next-ref PATH, or PRACTICE_NEXT_REF)"
    if not (source / "package.json").is_file():
        return f"{source} has no package.json"
    lock = (source / "package-lock.json").read_bytes()
    directory = NEXT_CACHE / f"nextjs-ref-{hashlib.sha256(lock).hexdigest()[:12]}"
    if not (directory / "node_modules" / "next" / "package.json").is_file():
        print(f"Next.js: copying the reference to {directory} and npm ci ...", flush=True)
        shutil.rmtree(directory, ignore_errors=True)
        shutil.copytree(source, directory, ignore=shutil.ignore_patterns("node_modules", ".next*"))
        for path in [directory, *directory.rglob("*")]:
            path.chmod(path.stat().st_mode | 0o200)
        done = subprocess.run(
            ["npm", "ci", "--no-audit", "--no-fund"],
            cwd=directory,
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            return f"npm ci failed: {done.stderr.strip().splitlines()[-1:]}"
    digest = hashlib.sha256(list_body).hexdigest()[:12]
    data = directory / f"problems-{digest}.json"
    data.write_bytes(list_body)
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("NEXT_", "PRACTICE_"))},
        "NEXT_TELEMETRY_DISABLED": "1",
        "NODE_ENV": "production",
        "NEXT_REF_PROBLEMS": str(data),
        "NEXT_DIST_DIR": f".next-growth-{digest}",
    }
    if not (directory / env["NEXT_DIST_DIR"] / "BUILD_ID").is_file():
        print("Next.js: next build ...", flush=True)
        done = subprocess.run(
            [str(directory / "node_modules" / ".bin" / "next"), "build"],
            cwd=directory,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            return f"next build failed: {(done.stdout + done.stderr).strip()[-500:]}"
    return directory, env


def next_server(
    directory: Path, env: dict[str, str], folder: Path
) -> contextlib.AbstractContextManager[Server]:
    """``next start`` of the build in ``env``'s NEXT_DIST_DIR (and the server it runs)."""
    port = free_port()
    command = [str(directory / "node_modules" / ".bin" / "next"), "start", "-p", str(port)]
    return serve(
        "next start",
        port,
        [*command, "-H", "127.0.0.1"],
        env=env,
        log_path=folder / "next.log",
        ready_path=WHOAMI,
        cwd=directory,
        own_group=True,
    )


def compare_next(ours: Server, settings: Settings, folder: Path, state: dict[str, Any]) -> None:
    """Search, whoami and the list, ours against Next.js on the same data, interleaved."""
    _status, _headers, list_body = call(ours.port, "GET", LIST)
    prepared = prepare_next(list_body, settings.next_ref)
    if isinstance(prepared, str):
        state["error"] = prepared
        print(f"Next.js: not compared: {prepared}", file=sys.stderr, flush=True)
        return
    directory, env = prepared
    query, matches = state["query"], state["matches"]
    search = f"/api/search?q={query}"
    with next_server(directory, env, folder) as theirs:
        _s, _h, their_list = call(theirs.port, "GET", LIST)
        _s, _h, our_search = call(ours.port, "GET", search)
        _s, _h, their_search = call(theirs.port, "GET", search)
        state["same_list"] = their_list == list_body.rstrip(b"\n")
        state["same_search"] = their_search == our_search.rstrip(b"\n")
        state["rows"] = (len(json.loads(our_search)), len(json.loads(their_search)))
        state["next_version"] = json.loads(
            (directory / "node_modules" / "next" / "package.json").read_text()
        )["version"]
        cases = {
            "search": search,
            "whoami": WHOAMI,
            "list": LIST,
        }
        runs: dict[str, dict[str, list[WrkResult]]] = {k: {"ours": [], "next": []} for k in cases}
        for number in range(1, settings.rounds + 1):
            for name, path in cases.items():
                print(f"Next.js: round {number}: wrk {path}, ours then theirs ...", flush=True)
                runs[name]["ours"].append(wrk(ours.port, path, settings, ours))
                runs[name]["next"].append(wrk(theirs.port, path, settings))
        state["runs"] = runs
        state["matches"] = matches
