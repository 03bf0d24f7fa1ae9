"""The catalogues: problem ``i`` the same in each, so that each is the one before plus more.

Every name is one of ``bench/problems.py``'s plus a word no other name holds
(``k000042``), so that a search can match exactly one problem at any size.
Rows are written with SQLAlchemy Core in batches, not one problem at a time
through the services, with the keys and search grams made by the very
functions the services use.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

from bench.problems import DIFFICULTIES, TOPICS, name_parts, seed_problems

CREATED = datetime(2026, 1, 1, tzinfo=UTC)


def token(index: int) -> str:
    """The unique word of problem ``index`` (0-based): ``k000001``. Digits are in no other word."""
    return f"k{index + 1:06d}"


class Catalogue:
    """The problems, as rows: problem ``i`` is the same in every catalogue that holds it."""

    def __init__(self) -> None:
        seeds = seed_problems()
        self.statements = [seed["statement"] for seed in seeds]
        self.seed_tags = [seed["tags"][:2] for seed in seeds]
        self.combos = name_parts()

    def name(self, index: int) -> str:
        action, topic, suffix = self.combos[index % len(self.combos)]
        return f"{action} {topic}{suffix} {token(index)}"

    def rows(
        self, start: int, stop: int, author_id: int
    ) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
        """Rows of problems, problem_tags and problem_grams for problems ``start`` to ``stop``."""
        from practice_app.rules import name_key
        from practice_app.search import name_grams

        problems: list[dict[str, Any]] = []
        tags: list[dict[str, Any]] = []
        grams: list[dict[str, Any]] = []
        for index in range(start, stop):
            problem_id = index + 1
            name = self.name(index)
            key = name_key(name)
            at = CREATED + timedelta(seconds=index)
            seed = index % len(self.statements)
            topic = self.combos[index % len(self.combos)][1]
            problems.append(
                {
                    "id": problem_id,
                    "name": name,
                    "name_key": key,
                    "difficulty": DIFFICULTIES[index % len(DIFFICULTIES)],
                    "statement": self.statements[seed],
                    "author_id": author_id,
                    "created_at": at,
                    "updated_at": at,
                }
            )
            for position, tag in enumerate(dict.fromkeys([TOPICS[topic], *self.seed_tags[seed]])):
                tags.append({"problem_id": problem_id, "tag": tag, "position": position})
            grams.extend({"gram": gram, "problem_id": problem_id} for gram in name_grams(key))
        return problems, tags, grams


def insert_problems(url: str, catalogue: Catalogue, start: int, stop: int) -> float:
    """Add problems ``start`` to ``stop`` with SQLAlchemy Core, in batches; return seconds.

    Keys and grams are made by the functions ``services`` uses; SQLite's FTS5
    table follows by its triggers, PostgreSQL's GIN index as rows arrive (then
    ANALYZE, and the id sequence moved past the ids given here).
    """
    from sqlalchemy import create_engine, insert, select, text

    from practice_app.models import Problem, ProblemGram, ProblemTag, User

    started = time.perf_counter()
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            author_id = conn.scalar(select(User.id).where(User.name == "bench"))
            if author_id is None:
                raise RuntimeError("no user 'bench' to author the problems (servers.make_admin)")
            for first in range(start, stop, 5000):
                problems, tags, grams = catalogue.rows(first, min(stop, first + 5000), author_id)
                conn.execute(insert(Problem.__table__), problems)
                conn.execute(insert(ProblemTag.__table__), tags)
                conn.execute(insert(ProblemGram.__table__), grams)
            if engine.dialect.name == "postgresql":
                conn.execute(
                    text(
                        "SELECT setval(pg_get_serial_sequence('problems', 'id'), "
                        "(SELECT max(id) FROM problems))"
                    )
                )
        if engine.dialect.name == "postgresql":
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(text("ANALYZE"))
    finally:
        engine.dispose()
    return time.perf_counter() - started
