"""Where a worker's time goes: py-spy samples one worker during a wrk run (``--py-spy``)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from bench.cache_hit.settings import Settings
from bench.common import Server, worker_pids
from devservers.processes import BIN

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
