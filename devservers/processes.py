"""The project's root and tools, its CLI, and free ports: for the tests and the benchmarks."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]  # devservers/processes.py
BIN = Path(sys.executable).parent


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on (at the moment of asking)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def run_flask(
    env: dict[str, str], *args: str, stdin: str | None = None, check: bool = False
) -> subprocess.CompletedProcess[str]:
    """Run ``flask --app practice_app ARGS`` from the project root, as the contract's CLI."""
    return subprocess.run(
        [str(BIN / "flask"), "--app", "practice_app", *args],
        cwd=ROOT,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        check=check,
    )
