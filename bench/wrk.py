"""wrk, run and read: a warm-up, then the measured run, and its output parsed.

``bench/run.py``, ``bench/growth.py`` and ``bench/search.py`` measure with it,
each with its own threads, connections and timeout (``search.py`` with a Lua
script too, whose own lines it reads from ``WrkResult.output``);
``bench/load.py`` drives wrk with a Lua script that prints figures of its
own, and reads them itself.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from bench.common import Server, worker_cpu_seconds


@dataclass
class WrkResult:
    requests_per_s: float
    p50_ms: float
    p99_ms: float
    requests: int
    errors: str
    cpu_us_per_request: float = 0.0  # the workers' CPU time, divided by the requests
    output: str = field(default="", repr=False)  # wrk's whole output (a Lua script's lines too)

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
        return cls(
            float(rps[1]),
            latency("50"),
            latency("99"),
            int(total[1]),
            "; ".join(problems),
            output=output,
        )


def run_wrk(
    port: int,
    path: str,
    *,
    threads: int,
    connections: int,
    timeout: int,
    warmup: int,
    duration: int,
    server: Server | None = None,
    script: Path | None = None,
    script_args: Sequence[str] = (),
) -> WrkResult:
    """A warm-up of ``warmup`` seconds, then the measured run, of wrk against ``path``.

    With ``server`` (a gunicorn of ours), also the CPU time its workers spent
    per request during the measured run. With ``script``, wrk runs that Lua
    script (``-s``), given ``script_args`` after ``--``; both runs do.
    """
    url = f"http://127.0.0.1:{port}{path}"
    base = ["wrk", f"-t{threads}", f"-c{connections}", "--latency", "--timeout", f"{timeout}s"]
    if script is not None:
        base += ["-s", str(script)]
    tail = [url, "--", *script_args] if script_args else [url]
    subprocess.run([*base, f"-d{warmup}s", *tail], capture_output=True, check=True)
    cpu_before = worker_cpu_seconds(server) if server else 0.0
    done = subprocess.run(
        [*base, f"-d{duration}s", *tail], capture_output=True, text=True, check=True
    )
    result = WrkResult.parse(done.stdout)
    if server is not None:
        cpu = worker_cpu_seconds(server) - cpu_before
        result.cpu_us_per_request = cpu / max(result.requests, 1) * 1e6
    return result
