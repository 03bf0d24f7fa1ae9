"""Indexed search gives exactly the plain rule's results, on SQLite and on PostgreSQL.

The plain rule: the query's key is a substring of the name's key (``rules.name_key``),
every character taken literally. Hypothesis makes random catalogues and queries
(``%``, ``_``, quotes, non-ASCII, one and two characters) and compares the page
and the total ``services.search_problems`` gives (FTS5 trigrams, ``pg_trgm``,
``problem_grams``) with the rule applied in Python to every name.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask import Flask
from flask_migrate import upgrade
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, func, select, text

from practice_app import create_app, documents, services
from practice_app.extensions import db
from practice_app.models import Problem, ProblemGram, User
from practice_app.rules import name_key
from practice_app.search import name_grams
from practice_app.statements import Prepared
from tests.pg import Postgres

# Characters chosen to trip an index that is not the plain rule: LIKE's
# wildcards and escape, FTS5's quote, letters whose case fold changes their
# length or form (ß, İ, ﬁ), compatibility forms (full width), accents.
ALPHABET = "ab ABe%_\\\"'é Éß ẞİﬁ\uff21\uff42" + "0-"
names = st.lists(
    st.text(alphabet=ALPHABET, min_size=1, max_size=12).map(str.strip).filter(bool),
    min_size=0,
    max_size=8,
)
queries = st.text(alphabet=ALPHABET, min_size=1, max_size=5).filter(lambda q: q.strip() != "")


def plain_rule(app: Flask, query: str) -> list[int]:
    key = name_key(query.strip())
    with app.app_context():
        rows = db.session.execute(select(Problem.id, Problem.name_key).order_by(Problem.id))
        return [pid for pid, name in rows if key in name]


def load(app: Flask, author_id: int, catalogue: list[str]) -> None:
    """Replace the problems with ``catalogue`` (names whose keys clash are left out)."""
    with app.app_context():
        with services.write_transaction():
            db.session.execute(delete(Problem))
        author = db.session.get(User, author_id)
        assert author is not None
        seen: set[str] = set()
        for name in catalogue:
            if name_key(name) in seen:
                continue
            seen.add(name_key(name))
            services.create_problem(author, services.load_problem_fields({"name": name}))


def check(app: Flask, author_id: int, catalogue: list[str], query: str, offset: int) -> None:
    load(app, author_id, catalogue)
    expected = plain_rule(app, query)
    with app.app_context():
        page, total = services.search_problems(query, limit=3, offset=offset)
        assert total == len(expected), (catalogue, query)
        assert [p.id for p in page] == expected[offset : offset + 3], (catalogue, query)
        sent, sent_total = documents.search_documents(query, limit=3, offset=offset)
        assert (sent_total, [d["id"] for d in sent]) == (total, [p.id for p in page])
        # The pieces of 1-2 characters are those of every key, no more, no fewer.
        pieces = set(db.session.execute(select(ProblemGram.gram, ProblemGram.problem_id)))
        keys = db.session.execute(select(Problem.id, Problem.name_key))
        assert pieces == {(g, pid) for pid, key in keys for g in name_grams(key)}


SETTINGS = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.fixture
def sqlite_app(app: Flask, make_user: Callable[..., int]) -> tuple[Flask, int]:
    return app, make_user("indexer")


@SETTINGS
@given(catalogue=names, query=queries, offset=st.integers(0, 3))
def test_the_index_gives_the_plain_rules_results_on_sqlite(
    sqlite_app: tuple[Flask, int], catalogue: list[str], query: str, offset: int
) -> None:
    check(*sqlite_app, catalogue, query, offset)


@pytest.fixture(scope="module")
def pg_app(postgres: Postgres, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    import os

    os.environ["PRACTICE_APP_INSTANCE"] = str(tmp_path_factory.mktemp("pg-search"))
    app = create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": postgres.url,
            "CACHE_TYPE": "NullCache",
            "CACHE_NO_NULL_WARNING": True,
            "RATELIMIT_ENABLED": False,
        }
    )
    with app.app_context():
        upgrade()
        author = services.create_user("indexer", "indexer-password-1")
        author_id = author.id
    yield app, author_id
    with app.app_context():
        db.engine.dispose()


@SETTINGS
@given(catalogue=names, query=queries, offset=st.integers(0, 3))
def test_the_index_gives_the_plain_rules_results_on_postgresql(
    pg_app: tuple[Flask, int], catalogue: list[str], query: str, offset: int
) -> None:
    check(*pg_app, catalogue, query, offset)


def test_postgresql_searches_three_characters_with_the_trigram_index(
    pg_app: tuple[Flask, int],
) -> None:
    app, author_id = pg_app
    load(app, author_id, [f"Problem {n:05d} about trees" for n in range(300)])
    with app.app_context():
        db.session.execute(text("ANALYZE"))
        db.session.commit()
        connection = db.session.connection()
        # What the search sets for its transaction, then the very statement it runs.
        connection.exec_driver_sql(documents.PREFER_TRIGRAMS)
        shape, values = documents.search_shape("00042", connection.dialect)
        page = Prepared.of(documents.page_statement, shape, connection.dialect)
        explain = dataclasses.replace(page, sql="EXPLAIN ANALYZE " + page.sql)
        values.update(limit=50, offset=0)
        plan = "\n".join(row[0] for row in explain.rows(connection, values))
        db.session.rollback()
    assert "ix_problems_name_key_trgm" in plan, plan
    assert "JIT" not in plan, plan  # compiling it cost 78 ms a search
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Problem)) == 300
