"""Files the app makes or opens are the owner's alone: the instance folder and the SQLite
file it creates, and a database file another process left readable (this process; the
files of a serving gunicorn: e2e/test_sessions_files.py)."""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

import pytest

from practice_app import create_app
from practice_app.extensions import db


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.sqlite_only(reason="the default SQLite file's permissions")
def test_the_app_creates_a_private_instance_folder_and_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    instance = tmp_path / "instance"
    monkeypatch.setenv("PRACTICE_APP_INSTANCE", str(instance))
    umask = os.umask(0o022)
    try:
        app = create_app({"TESTING": True, "CACHE_DIR": str(tmp_path / "cache")})
    finally:
        os.umask(umask)
    with app.app_context():
        db.engine.dispose()
    assert mode_of(instance) == 0o700
    assert mode_of(instance / "practice.sqlite3") == 0o600


@pytest.mark.sqlite_only(reason="a SQLite file's permissions")
def test_an_open_database_file_is_made_private_at_start_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("PRACTICE_APP_INSTANCE", str(tmp_path / "instance"))
    database = tmp_path / "shared.sqlite3"
    wal = tmp_path / "shared.sqlite3-wal"
    for path, mode in ((database, 0o644), (wal, 0o664)):
        path.touch()
        path.chmod(mode)
    with caplog.at_level(logging.WARNING, logger="practice_app"):
        app = create_app(
            {
                "TESTING": True,
                "SQLALCHEMY_DATABASE_URI": f"sqlite:///{database}",
                "CACHE_DIR": str(tmp_path / "cache"),
            }
        )
    with app.app_context():
        db.engine.dispose()
    assert mode_of(database) == 0o600
    assert mode_of(wal) == 0o600
    messages = [record.getMessage() for record in caplog.records]
    assert any(str(database) in text and "0644" in text for text in messages), messages
    assert any(str(wal) in text and "0664" in text for text in messages), messages
