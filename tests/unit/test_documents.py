"""The documents the list and the search send are ``ProblemOut``'s, field for field."""

from __future__ import annotations

import gc
from collections.abc import Callable
from typing import Any

import pytest
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


def test_the_collector_is_off_while_any_build_runs_and_as_it_was_after() -> None:
    assert gc.isenabled()
    outer = documents.collector_paused()
    inner = documents.collector_paused()
    outer.__enter__()
    inner.__enter__()
    assert not gc.isenabled()
    outer.__exit__(None, None, None)
    assert not gc.isenabled()  # another build (thread) is still running
    inner.__exit__(None, None, None)
    assert gc.isenabled()
    gc.disable()
    try:
        with documents.collector_paused():
            pass
        assert not gc.isenabled()  # it was off before: left off
    finally:
        gc.enable()


def test_the_list_is_built_with_the_collector_off(
    app: Flask,
    make_user: Callable[..., int],
    make_problem: Callable[..., int],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    make_user("alice")
    make_problem("alice", name="Plain")
    seen: list[bool] = []
    real = documents._documents

    def spy(rows: Any, tag_rows: Any) -> Any:
        seen.append(gc.isenabled())
        return real(rows, tag_rows)

    monkeypatch.setattr(documents, "_documents", spy)
    with app.app_context():
        assert [doc["name"] for doc in documents.list_documents()] == ["Plain"]
        db.session.rollback()
    assert seen == [False]
    assert gc.isenabled()
