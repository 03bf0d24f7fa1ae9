"""Indexed search gives exactly the plain rule's results on the run's database (test client).

Hypothesis makes random catalogues and queries (``%``, ``_``, quotes, non-ASCII,
one and two characters) and compares the page and the total of the search with
the plain rule (support/search.py): FTS5 trigrams on SQLite, ``pg_trgm`` in the
PostgreSQL + Redis run. e2e/test_search_index.py does it on a PostgreSQL of its own.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask import Flask
from hypothesis import given
from hypothesis import strategies as st

from tests.support.search import SETTINGS, check, names, queries


@pytest.fixture
def sqlite_app(app: Flask, make_user: Callable[..., int]) -> tuple[Flask, int]:
    return app, make_user("indexer")


@SETTINGS
@given(catalogue=names, query=queries, offset=st.integers(0, 3))
def test_the_index_gives_the_plain_rules_results_on_sqlite(
    sqlite_app: tuple[Flask, int], catalogue: list[str], query: str, offset: int
) -> None:
    check(*sqlite_app, catalogue, query, offset)
