"""The sample problems: loaded once, running it again adds nothing."""

from __future__ import annotations

import json
import secrets
from importlib import resources

from sqlalchemy import select

from ..extensions import db
from ..models import Problem, utc_now
from ..rules import name_key
from .accounts import create_user, find_user
from .problems import assign, index_name, invalidate_problem, load_problem_fields, unique_name
from .transactions import write_transaction

SEED_AUTHOR = "curator"


def seed_problems() -> int:
    """Load the sample problems that are not there yet; return how many were added."""
    author = find_user(SEED_AUTHOR)
    if author is None:
        author = create_user(SEED_AUTHOR, secrets.token_urlsafe(24))
    samples = json.loads(
        resources.files("practice_app").joinpath("seed_problems.json").read_text("utf-8")
    )
    with unique_name(), write_transaction():
        existing = set(db.session.scalars(select(Problem.name_key)))
        added = []
        for sample in samples:
            fields = load_problem_fields(sample)
            if name_key(fields["name"]) in existing:
                continue
            now = utc_now()
            problem = Problem(author=author, created_at=now, updated_at=now)
            assign(problem, fields)
            db.session.add(problem)
            added.append(problem)
        db.session.flush()
        for problem in added:
            index_name(problem, new=True)
            invalidate_problem(problem.id, problem.name_key)
    return len(added)
