"""The documents the list and the search send are ``ProblemOut``'s, field for field."""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask
from sqlalchemy import select

from practice_app import documents, services
from practice_app.api.schemas import ProblemOut
from practice_app.extensions import db
from practice_app.models import Problem


def test_documents_are_what_marshmallow_would_send(
    app: Flask, make_user: Callable[..., int], make_problem: Callable[..., int]
) -> None:
    make_user("alice")
    make_user("bob")
    make_problem("alice", name="Plain")
    make_problem("bob", name="Ünïcödé « quoted » 100%", tags=["b", "a", "c-1"], difficulty="hard")
    make_problem("alice", name="No tags", statement="# Title\n\nText.", tags=[])
    with app.app_context():
        expected = ProblemOut(many=True).dump(
            db.session.scalars(select(Problem).order_by(Problem.id))
        )
        assert documents.list_documents() == expected
        assert [list(doc) for doc in documents.list_documents()] == [list(e) for e in expected]
        query = documents.SearchQuery("o", limit=1, offset=1)
        page, total = documents.search_documents(query)
        objects, same_total = services.search_problems(query)
        assert (page, total) == (ProblemOut(many=True).dump(objects), same_total)
        db.session.rollback()


def test_the_list_and_the_search_answer_the_documents(
    app: Flask, make_user: Callable[..., int], make_problem: Callable[..., int]
) -> None:
    make_user("alice")
    for n in range(3):
        make_problem("alice", name=f"Tree {n}", tags=["trees"])
    client = app.test_client()
    with app.app_context():
        listed = documents.list_documents()
    assert client.get("/api/problems").get_json() == listed
    found = client.get("/api/search?q=tree&limit=2")
    assert found.get_json() == listed[:2]
    assert found.headers["X-Total-Count"] == "3"
    assert found.headers["Link"] == '</api/search?q=tree&limit=2&offset=2>; rel="next"'
