"""How services write: which integrity errors are a 409, and the writer's transaction."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask import Flask
from sqlalchemy import insert, text
from sqlalchemy.exc import IntegrityError

from practice_app import services
from practice_app.errors import Conflict, NotFound
from practice_app.extensions import db
from practice_app.models import Problem, ProblemTag, User


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
        assert services._violates(name, "uq_problems_name_key")
        assert not services._violates(tag, "uq_problems_name_key")
        assert not services._violates(foreign, "uq_problems_name_key")
        assert not services._violates(name, "uq_users_name_key")


def test_another_constraint_is_not_turned_into_a_409(
    app: Flask, make_user: Callable[..., int], make_problem: Callable[..., int]
) -> None:
    make_user()
    problem_id = make_problem(name="Kept")
    with app.app_context():
        user = db.session.get(User, 1)
        assert user is not None
        # The check constraint on difficulty: a bug if it happened, never "name taken".
        with pytest.raises(IntegrityError):
            services.update_problem(user, problem_id, {"difficulty": "impossible"})
        with pytest.raises(Conflict):
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
        with pytest.raises(NotFound):
            services.update_problem(user, problem_id, {"difficulty": "hard"})
        with pytest.raises(NotFound):
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
