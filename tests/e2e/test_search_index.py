"""Indexed search gives exactly the plain rule's results on a PostgreSQL cluster of its own,
and searches three characters with the trigram index.

Hypothesis makes random catalogues and queries and compares the page and the total
of the search with the plain rule (support/search.py); unit/test_search_index.py
does the same on the run's database.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from flask_migrate import upgrade
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import func, select, text

from devservers.postgres import Postgres
from practice_app import create_app, documents, services
from practice_app.caching.statements import Prepared
from practice_app.extensions import db
from practice_app.models import Problem
from tests.support.search import SETTINGS, check, load, names, queries


@pytest.fixture(scope="module")
def pg_app(postgres: Postgres, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
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
