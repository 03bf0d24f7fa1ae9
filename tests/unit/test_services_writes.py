"""How services write: what they check, which integrity errors are a 409, their transaction."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import insert, text
from sqlalchemy.exc import IntegrityError

from practice_app import services
from practice_app.errors import FieldErrors, ProblemNotFound, ValueTaken
from practice_app.extensions import db
from practice_app.models import Problem, ProblemTag, User
from tests.support.forms import post_form, sign_in


def integrity_error(statement: Callable[[], object]) -> IntegrityError:
    with pytest.raises(IntegrityError) as caught:
        statement()
    db.session.rollback()
    return caught.value


def test_only_the_problem_name_index_is_a_conflict(
    app: Flask, make_user: Callable[..., int], make_problem: Callable[..., int]
) -> None:
    make_user()
    problem_id = make_problem(name="Two Sum", tags=["arrays"])
    with app.app_context():
        name = integrity_error(
            lambda: db.session.execute(
                insert(Problem).values(
                    name="two sum", name_key="two sum", difficulty="easy", author_id=1
                )
            )
        )
        tag = integrity_error(
            lambda: db.session.execute(
                insert(ProblemTag).values(problem_id=problem_id, tag="arrays", position=1)
            )
        )
        foreign = integrity_error(
            lambda: db.session.execute(
                insert(ProblemTag).values(problem_id=problem_id + 1000, tag="x", position=0)
            )
        )
        assert services.transactions.violates(name, "uq_problems_name_key")
        assert not services.transactions.violates(tag, "uq_problems_name_key")
        assert not services.transactions.violates(foreign, "uq_problems_name_key")
        assert not services.transactions.violates(name, "uq_users_name_key")


def test_another_constraint_is_not_turned_into_a_409(
    app: Flask,
    make_user: Callable[..., int],
    make_problem: Callable[..., int],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    make_user()
    problem_id = make_problem(name="Kept")
    with app.app_context():
        user = db.session.get(User, 1)
        assert user is not None
        # The service checks what it is given, whoever calls it.
        with pytest.raises(FieldErrors) as refused:
            services.update_problem(user, problem_id, {"difficulty": "impossible"})
        assert list(refused.value.details) == ["difficulty"]
        # With the rules bypassed, the check constraint on difficulty is a bug
        # (a 500), never "name taken". (Short enough for the column: on PostgreSQL
        # a longer one fails the VARCHAR(6) first, a DataError, not the constraint.)
        monkeypatch.setattr(
            services.problems, "load_problem_fields", lambda data, partial=False: dict(data)
        )
        with pytest.raises(IntegrityError):
            services.update_problem(user, problem_id, {"difficulty": "tough"})
        monkeypatch.undo()
        with pytest.raises(ValueTaken):
            services.create_problem(user, {"name": "KEPT"})
        assert db.session.get(Problem, problem_id).difficulty == "medium"  # type: ignore[union-attr]


def test_an_edit_of_a_problem_deleted_meanwhile_is_not_found(
    app: Flask, make_user: Callable[..., int], make_problem: Callable[..., int]
) -> None:
    make_user()
    problem_id = make_problem(name="Going")
    with app.app_context():
        user = db.session.get(User, 1)
        assert user is not None
        # Another worker deletes it before this request's write.
        with db.engine.begin() as other:
            other.execute(text("DELETE FROM problems WHERE id = :id"), {"id": problem_id})
        with pytest.raises(ProblemNotFound):
            services.update_problem(user, problem_id, {"difficulty": "hard"})
        with pytest.raises(ProblemNotFound):
            services.delete_problem(user, problem_id)


def test_the_answer_shows_what_this_write_wrote(
    app: Flask, make_user: Callable[..., int], make_problem: Callable[..., int]
) -> None:
    make_user()
    problem_id = make_problem(name="Shown", tags=["a"])
    with app.app_context():
        user = db.session.get(User, 1)
        assert user is not None
        updated = services.update_problem(user, problem_id, {"tags": ["b", "c"]})
        # Another worker commits after this write, before its answer is made.
        with db.engine.begin() as other:
            other.execute(
                text("UPDATE problems SET difficulty = 'hard' WHERE id = :id"), {"id": problem_id}
            )
        assert [row.tag for row in updated.tag_rows] == ["b", "c"]
        assert updated.difficulty == "medium"


@pytest.mark.parametrize("raw", ["2147483648", 2**31, "9223372036854775807", 0, "0", "-1"])
def test_ids_past_the_integer_column_name_nothing(raw: str | int) -> None:
    assert services.parse_problem_id(raw) is None


def test_the_largest_id_is_the_integer_column_s() -> None:
    assert services.parse_problem_id("2147483647") == 2147483647
    assert services.parse_problem_id(2147483647) == 2147483647


def test_services_check_what_they_are_given(app: Flask, make_user: Callable[..., int]) -> None:
    make_user()
    with app.app_context():
        user = db.session.get(User, 1)
        assert user is not None
        with pytest.raises(FieldErrors) as refused:
            services.create_problem(user, {"name": " ", "tags": ["Not ok!"]})
        assert set(refused.value.details) == {"name", "tags"}
        with pytest.raises(FieldErrors) as refused:
            services.create_problem(user, {"name": "X", "author": "eve"})
        assert set(refused.value.details) == {"author"}
        with pytest.raises(FieldErrors) as refused:
            services.update_problem(user, 1, {"difficulty": "easy"}, replace=True)
        assert set(refused.value.details) == {"name"}
        # Loading is idempotent: fields the API loaded already pass again unchanged.
        fields = services.load_problem_fields({"name": "  Two Sum ", "tags": ["A", "a", "b"]})
        assert services.load_problem_fields(fields) == fields
        problem = services.create_problem(user, fields)
        assert problem.name == "Two Sum"
        assert [row.tag for row in problem.tag_rows] == ["a", "b"]


def test_a_taken_name_is_not_a_field_error() -> None:
    # `except FieldErrors` (a 422) must not swallow a 409.
    assert not issubclass(ValueTaken, FieldErrors)
    taken = ValueTaken("name", "Taken.")
    assert (taken.status, taken.details) == (409, {"name": ["Taken."]})


def test_a_form_post_is_checked_by_the_rules_once(
    client: FlaskClient, make_user: Callable[..., int], monkeypatch: pytest.MonkeyPatch
) -> None:
    make_user()
    sign_in(client)
    loads: list[object] = []
    real_load = services.load_problem_fields

    def counting_load(data: Any, *, partial: bool = False) -> dict[str, Any]:
        loads.append(data)
        return real_load(data, partial=partial)

    monkeypatch.setattr(services.problems, "load_problem_fields", counting_load)
    form = {"name": "Once", "difficulty": "easy", "tags": "a", "statement": ""}
    created = post_form(client, "/problems/new", form, page="/problems/new")
    assert created.status_code == 303
    assert len(loads) == 1
