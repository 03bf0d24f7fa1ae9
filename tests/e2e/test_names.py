# ruff: noqa: RUF001 - look-alike letters are what this module is about
"""The migration that recomputes the name keys of existing rows by NFKC casefold, run by
``flask db upgrade`` on an old database: the younger of two colliding names is renamed, on
SQLite and on a PostgreSQL cluster of its own. The rule itself: unit/test_names.py."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from devservers.postgres import Postgres
from devservers.processes import run_flask

NOW = datetime(2026, 11, 29, 9, 0, tzinfo=UTC).replace(tzinfo=None)
OLD_ROWS = [
    # (id, name, its NFC casefold key as revision 0003 stored it)
    (1, "Two Sum", "two sum"),
    (2, "Ｔｗｏ Ｓｕｍ", "ｔｗｏ ｓｕｍ"),  # collides with 1 under NFKC
    (3, "Two\u200bSum", "two\u200bsum"),  # stored before format characters were refused
    (4, "TwoSum", "twosum"),  # collides with 3 (the older) under the new key
    (5, "TWO SUM (#2)", "two sum (#2)"),  # takes the name 2 would be renamed to
    (6, "Ｃｌｉｍｂｉｎｇ Ｓｔａｉｒｓ", "ｃｌｉｍｂｉｎｇ ｓｔａｉｒｓ"),  # alone: kept
]


def _insert_old_rows(url: str) -> None:
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO users (id, name, name_key, password_hash, is_admin, created_at,"
                " session_token) VALUES (1, 'Alice', 'alice', 'x', false, :now, 't')"
            ),
            {"now": NOW},
        )
        for row_id, name, key in OLD_ROWS:
            conn.execute(
                sa.text(
                    "INSERT INTO problems (id, name, name_key, difficulty, statement, author_id,"
                    " created_at, updated_at) VALUES (:id, :name, :key, 'easy', '', 1, :now, :now)"
                ),
                {"id": row_id, "name": name, "key": key, "now": NOW},
            )
    engine.dispose()


def _rows(url: str) -> dict[int, tuple[str, str]]:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT id, name, name_key FROM problems ORDER BY id")).all()
        users = conn.execute(sa.text("SELECT name, name_key FROM users")).all()
    engine.dispose()
    assert [tuple(user) for user in users] == [("Alice", "alice")]
    return {row.id: (row.name, row.name_key) for row in rows}


def _migrate_with_collisions(env: dict[str, str], url: str) -> None:
    up = run_flask(env, "db", "upgrade", "0003_idempotent_requests")
    assert up.returncode == 0, up.stderr
    _insert_old_rows(url)
    up = run_flask(env, "db", "upgrade")
    assert up.returncode == 0, up.stderr
    assert "renamed 'Ｔｗｏ Ｓｕｍ (#2-2)'" in up.stderr
    assert _rows(url) == {
        1: ("Two Sum", "two sum"),
        2: ("Ｔｗｏ Ｓｕｍ (#2-2)", "two sum (#2-2)"),  # "(#2)" was taken by 5
        3: ("Two\u200bSum", "twosum"),
        4: ("TwoSum (#4)", "twosum (#4)"),
        5: ("TWO SUM (#2)", "two sum (#2)"),
        6: ("Ｃｌｉｍｂｉｎｇ Ｓｔａｉｒｓ", "climbing stairs"),
    }
    down = run_flask(env, "db", "downgrade", "0003_idempotent_requests")
    assert down.returncode == 0, down.stderr
    assert _rows(url)[6] == ("Ｃｌｉｍｂｉｎｇ Ｓｔａｉｒｓ", "ｃｌｉｍｂｉｎｇ ｓｔａｉｒｓ")


@pytest.mark.sqlite_only(reason="the migration on an old SQLite database")
def test_the_migration_renames_the_younger_of_two_colliding_names_on_sqlite(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'old.sqlite3'}"
    env = {
        **os.environ,
        "PRACTICE_APP_INSTANCE": str(tmp_path / "instance"),
        "FLASK_SQLALCHEMY_DATABASE_URI": url,
    }
    _migrate_with_collisions(env, url)


@pytest.mark.own_backend(reason="the migration on a PostgreSQL cluster of its own")
def test_the_migration_renames_the_younger_of_two_colliding_names_on_postgres(
    tmp_path: Path, postgres: Postgres
) -> None:
    env = {
        **os.environ,
        "PRACTICE_APP_INSTANCE": str(tmp_path / "instance"),
        "FLASK_SQLALCHEMY_DATABASE_URI": postgres.url,
    }
    _migrate_with_collisions(env, postgres.url)
