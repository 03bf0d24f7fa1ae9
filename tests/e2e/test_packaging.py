"""The package installed as a user would install it: a wheel in a fresh virtualenv.

The wheel is built from this checkout and installed by pip into a new venv
(no system site-packages, dependencies resolved from its metadata alone: a
dependency missing from pyproject.toml fails here). Then, from a directory
that is not the checkout, ``flask db upgrade`` and ``seed`` run from the
package's own migrations and data, gunicorn serves ``practice_app.wsgi:app``,
and the instance folder is Flask's for an installed package:
``<venv>/var/practice_app-instance``. pip installs from its cache and the
configured indexes: 15 s on an idle 2-CPU machine, about a minute under load.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import venv
from pathlib import Path

import pytest
import requests

from devservers.processes import BIN, ROOT, free_port

pytestmark = pytest.mark.own_backend(
    reason="a new shell's environment: the embedded defaults, whatever the run"
)


def _clean_env(home: Path) -> dict[str, str]:
    """The environment of a new shell: none of the tests' FLASK_* or PRACTICE_* settings."""
    kept = {k: v for k, v in os.environ.items() if not k.startswith(("FLASK_", "PRACTICE_"))}
    kept.pop("VIRTUAL_ENV", None)
    kept.pop("PYTHONPATH", None)
    return {**kept, "HOME": str(home)}


def test_a_wheel_installs_migrates_and_serves_from_elsewhere(tmp_path: Path) -> None:
    # Built from a copy: setuptools leaves a build/ folder in the tree it builds,
    # whose stale files a later wheel would carry.
    source = tmp_path / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    shutil.copytree(ROOT / "practice_app", source / "practice_app", ignore=ignore)
    wheels = tmp_path / "wheels"
    built = subprocess.run(
        [str(BIN / "pip"), "wheel", str(source), "--no-deps", "-q", "-w", str(wheels)],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert built.returncode == 0, built.stderr
    (wheel,) = wheels.glob("practice_app-*.whl")

    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True, system_site_packages=False)
    bin_dir = env_dir / "bin"
    installed = subprocess.run(
        [str(bin_dir / "pip"), "install", "-q", str(wheel)],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert installed.returncode == 0, installed.stderr

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = _clean_env(tmp_path)

    def flask(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(bin_dir / "flask"), "--app", "practice_app", *args],
            cwd=elsewhere,
            env=env,
            capture_output=True,
            text=True,
            check=False,
            timeout=120,
        )

    where = subprocess.run(
        [str(bin_dir / "python"), "-c", "import practice_app; print(practice_app.__file__)"],
        cwd=elsewhere,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert where.stdout.startswith(str(env_dir)), where.stdout  # the wheel, not this checkout
    upgraded = flask("db", "upgrade")
    assert upgraded.returncode == 0, upgraded.stderr
    assert flask("seed").returncode == 0
    instance = env_dir / "var" / "practice_app-instance"
    assert (instance / "practice.sqlite3").is_file()
    assert (instance / "secret_key").is_file()

    port = free_port()
    log = tmp_path / "gunicorn.log"
    with log.open("wb") as output:
        server = subprocess.Popen(
            [str(bin_dir / "gunicorn"), "-w2", f"-b127.0.0.1:{port}", "practice_app.wsgi:app"],
            cwd=elsewhere,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 45
        while True:
            assert server.poll() is None, log.read_text()
            try:
                health = requests.get(base + "/healthz", timeout=10)
                break
            except requests.RequestException:
                assert time.monotonic() < deadline, log.read_text()
                time.sleep(0.2)
        assert health.json() == {"status": "ok"}
        problems = requests.get(base + "/api/problems", timeout=10)
        assert problems.status_code == 200 and len(problems.json()) >= 30
        assert requests.get(base + "/", timeout=10).status_code == 200  # templates
        assert requests.get(base + "/static/app.css", timeout=10).status_code == 200
        assert requests.get(base + "/api/docs", timeout=10).status_code == 200
    finally:
        server.terminate()
        server.wait(timeout=15)


def test_flask_finds_the_app_from_flaskenv(tmp_path: Path) -> None:
    env = _clean_env(tmp_path)
    env["PRACTICE_APP_INSTANCE"] = str(tmp_path / "instance")
    env["FLASK_SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{tmp_path / 'db.sqlite3'}"
    upgraded = subprocess.run(
        [str(BIN / "flask"), "db", "upgrade"],  # no --app: .flaskenv names it
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert upgraded.returncode == 0, upgraded.stderr
    assert (tmp_path / "db.sqlite3").is_file()


def test_the_checkout_and_the_package_serve_one_app(tmp_path: Path) -> None:
    env = {**os.environ, "PRACTICE_APP_INSTANCE": str(tmp_path / "instance")}
    env["FLASK_SQLALCHEMY_DATABASE_URI"] = "sqlite://"
    checked = subprocess.run(
        [sys.executable, "-c", "import wsgi, practice_app.wsgi as w; assert wsgi.app is w.app"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert checked.returncode == 0, checked.stderr
