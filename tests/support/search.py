"""Indexed search against the plain rule, for hypothesis: random catalogues and queries.

The plain rule: the query's key is a substring of the name's key (``rules.name_key``),
every character taken literally. ``check`` compares the page and the total
``services.search_problems`` gives (FTS5 trigrams, ``pg_trgm``, ``problem_grams``)
with the rule applied in Python to every name, on whichever database the app has.
"""

from __future__ import annotations

from flask import Flask
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from sqlalchemy import delete, select

from practice_app import caching, documents, services
from practice_app.extensions import db
from practice_app.models import Problem, ProblemGram, User
from practice_app.rules import name_key
from practice_app.search import name_grams

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

SETTINGS = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def plain_rule(app: Flask, query: str) -> list[int]:
    key = name_key(query.strip())
    with app.app_context():
        rows = db.session.execute(select(Problem.id, Problem.name_key).order_by(Problem.id))
        return [pid for pid, name in rows if key in name]


def load(app: Flask, author_id: int, catalogue: list[str]) -> None:
    """Replace the problems with ``catalogue`` (names whose keys clash are left out)."""
    with app.app_context():
        with services.write_transaction():
            # Behind the services' back, so the data cache's searches are dropped by hand.
            db.session.execute(delete(Problem))
            caching.invalidate_all()
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
        search = documents.SearchQuery(query, limit=3, offset=offset)
        page, total = services.search_problems(search)
        assert total == len(expected), (catalogue, query)
        assert [p.id for p in page] == expected[offset : offset + 3], (catalogue, query)
        sent, sent_total = documents.search_documents(
            documents.SearchQuery(query, limit=3, offset=offset)
        )
        assert (sent_total, [d["id"] for d in sent]) == (total, [p.id for p in page])
        # The pieces of 1-2 characters are those of every key, no more, no fewer.
        pieces = set(db.session.execute(select(ProblemGram.gram, ProblemGram.problem_id)))
        keys = db.session.execute(select(Problem.id, Problem.name_key))
        assert pieces == {(g, pid) for pid, key in keys for g in name_grams(key)}
