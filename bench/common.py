"""What the benchmarks share: the project's CLI, servers started, asked and stopped, their workers.

``bench/run.py``, ``bench/growth.py`` and ``bench/load.py`` each serve the
app with gunicorn (and growth Next.js too), wait for it to answer, send it
requests, stop it afterwards, and read its workers' memory and CPU: one way, here.
The CLI and free ports themselves are ``devservers/``'s, the tests' too.
"""

from __future__ import annotations

import contextlib
import glob
import json
import os
import platform
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from http.client import HTTPConnection, HTTPMessage
from pathlib import Path
from typing import Any

from devservers.processes import BIN, ROOT, free_port, run_flask


def flask(env: dict[str, str], *args: str, stdin: str | None = None) -> str:
    """Run the project's CLI (``flask --app practice_app ARGS``); return its standard output."""
    done = run_flask(env, *args, stdin=stdin)
    if done.returncode != 0:
        raise RuntimeError(f"flask {' '.join(args)} failed:\n{done.stderr}")
    return done.stdout


@dataclass
class Server:
    name: str
    port: int
    process: subprocess.Popen[bytes]
    log_path: Path

    def log_tail(self) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-30:])


def call(
    port: int,
    method: str,
    path: str,
    body: Any = None,
    headers: dict[str, str] | None = None,
    timeout: float = 120,
    kept: HTTPConnection | None = None,
) -> tuple[int, HTTPMessage, bytes]:
    """One request, on a new connection closed after it, or on ``kept`` (left open).

    ``body``, if given, is sent as JSON. Returns the status, the headers (every
    one, in order; ``get`` ignores case) and the body.
    """
    conn = kept or HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        sent = dict(headers or {})
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            sent["Content-Type"] = "application/json"
        conn.request(method, path, body=data, headers=sent)
        response = conn.getresponse()
        return response.status, response.headers, response.read()
    finally:
        if kept is None:
            conn.close()


def timed(port: int, method: str, path: str, **kwargs: Any) -> tuple[float, int, HTTPMessage]:
    """Milliseconds of one request (``call``'s arguments), its status and headers."""
    started = time.perf_counter()
    status, headers, _body = call(port, method, path, **kwargs)
    return (time.perf_counter() - started) * 1000, status, headers


@contextlib.contextmanager
def serve(
    name: str,
    port: int,
    command: list[str],
    *,
    env: dict[str, str],
    log_path: Path,
    ready_path: str,
    cwd: Path = ROOT,
    own_group: bool = False,
) -> Iterator[Server]:
    """Run ``command`` (listening on ``port``) until ``ready_path`` answers; stop it afterwards.

    ``own_group``: the command starts processes of its own (``next start``),
    so its whole process group is signalled.
    """
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            command,
            cwd=cwd,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=own_group,
        )
    server = Server(name, port, process, log_path)

    def stop(sig: int) -> None:
        with contextlib.suppress(ProcessLookupError):
            if own_group:
                os.killpg(process.pid, sig)
            else:
                process.send_signal(sig)

    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"{name} exited:\n{server.log_tail()}")
            try:
                call(port, "GET", ready_path, timeout=30)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{name} did not answer:\n{server.log_tail()}") from None
                time.sleep(0.2)
        yield server
    finally:
        stop(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            stop(signal.SIGKILL)
            process.wait()


@contextlib.contextmanager
def gunicorn(
    name: str, target: str, env: dict[str, str], folder: Path, flags: list[str] | None = None
) -> Iterator[Server]:
    """Serve ``target`` with ``gunicorn -c gunicorn.conf.py FLAGS`` on a free port."""
    port = free_port()
    command = [str(BIN / "gunicorn"), "-c", "gunicorn.conf.py", *(flags or [])]
    command += ["-b", f"127.0.0.1:{port}", target]
    log_path = folder / f"{name}.log"
    with serve(name, port, command, env=env, log_path=log_path, ready_path="/healthz") as server:
        yield server


def worker_rss(server: Server) -> dict[int, float]:
    """Each gunicorn worker's resident memory in MiB, by pid (the master's children)."""
    out = subprocess.run(
        ["ps", "-o", "pid=,rss=", "--ppid", str(server.process.pid)],
        capture_output=True,
        text=True,
        check=False,
    ).stdout
    return {int(pid): int(rss) / 1024 for pid, rss in (line.split() for line in out.splitlines())}


def worker_pids(server: Server) -> list[int]:
    """The gunicorn workers' process ids."""
    return sorted(worker_rss(server))


def worker_rss_mib(server: Server) -> list[float]:
    """Resident memory of each worker, in MiB, smallest first."""
    return sorted(worker_rss(server).values())


def worker_cpu_seconds(server: Server) -> float:
    """CPU time the workers have used so far: every thread's schedstat (ns), else the stat ticks.

    ``/proc/PID/schedstat`` counts a process's main thread only: a gthread
    worker answers requests on other threads, so each task is summed
    (``/proc/PID/stat``'s ticks, the fallback, already cover every thread).
    """
    total = 0.0
    for pid in worker_pids(server):
        try:
            tasks = glob.glob(f"/proc/{pid}/task/*/schedstat")
            total += sum(int(Path(task).read_text().split()[0]) for task in tasks) / 1e9
        except (OSError, ValueError, IndexError):
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def machine() -> str:
    model = platform.machine()
    with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
        for line in cpuinfo:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return f"{os.cpu_count()} CPUs ({model}), Python {platform.python_version()}"


def load_text() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} / {five:.2f} / {fifteen:.2f}"
