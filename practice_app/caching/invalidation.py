"""Invalidation: what services call inside a write's transaction, before its commit."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session
from werkzeug.routing import BuildError, Rule

from .. import telemetry
from ..extensions import db
from .adapter import current_flask_app
from .policy import policy_for
from .versions import ALL, bump

# Where a write's session keeps the routes it invalidated until it commits.
_PENDING = "practice_cache_invalidated"


def invalidate_problem(problem_id: int) -> None:
    """Make stale every stored response that shows problems: lists, counts and ``problem_id``.

    Call it inside the write's transaction, after a flush (so a new problem
    has its id) and before the commit: the versions change with the data.
    """
    invalidate_tag("problems", problem_id=problem_id)


def invalidate_tag(tag: str, **values: Any) -> None:
    """Make stale the stored response of every view tagged ``tag``, its URL built from ``values``.

    Views whose URL needs a value that is not given are left alone (the list
    and the counts are dropped for any problem; problem 7's page for 7 only).
    """
    app = current_flask_app()
    adapter = app.url_map.bind("localhost")
    paths = []
    rules = []
    for rule in _tagged_rules(tag):
        if not rule.arguments <= values.keys():
            continue
        try:
            paths.append(adapter.build(rule.endpoint, {k: values[k] for k in rule.arguments}))
        except BuildError:
            continue
        rules.append(rule.rule)
    bump("path:" + path for path in paths)
    _count_on_commit(rules)


def _tagged_rules(tag: str) -> list[Rule]:
    """The URL rules of the GET views that declare ``tag`` (found once per app and tag)."""
    app = current_flask_app()
    known: dict[str, list[Rule]] = app.extensions.setdefault("practice_tagged_rules", {})
    found = known.get(tag)
    if found is None:
        found = [
            rule
            for rule in app.url_map.iter_rules()
            if "GET" in (rule.methods or ())
            and (policy := policy_for(app, rule.endpoint, "GET")) is not None
            and tag in policy.tags
        ]
        known[tag] = found
    return found


def _count_on_commit(rules: Iterable[str]) -> None:
    """Count these routes' entries as invalidated once the write's transaction commits."""
    db.session().info.setdefault(_PENDING, []).extend(rules)


def _counted(session: Session) -> None:
    for rule in session.info.pop(_PENDING, ()):
        telemetry.count_cache(rule, "invalidated")


def _forgotten(session: Session) -> None:
    session.info.pop(_PENDING, None)


def listen_for_commits() -> None:
    """Count invalidations when their write commits, forget them if it rolls back (once)."""
    if not event.contains(Session, "after_commit", _counted):
        event.listen(Session, "after_commit", _counted)
        event.listen(Session, "after_rollback", _forgotten)


def declared_tags() -> frozenset[str]:
    """Every tag a GET view of the app declares (``cache_view(tags=...)``)."""
    app = current_flask_app()
    tags: set[str] = set()
    for rule in app.url_map.iter_rules():
        policy = policy_for(app, rule.endpoint, "GET")
        if policy is not None and "GET" in (rule.methods or ()):
            tags.update(policy.tags)
    return frozenset(tags)


def revalidate(paths: Iterable[str], tags: Iterable[str]) -> None:
    """Make stale the stored responses of these canonical paths and of every view with these tags.

    Next.js's ``revalidatePath`` and ``revalidateTag``: call it inside a write
    transaction, as the services do.
    """
    paths, tags = list(paths), list(tags)
    bump([*("path:" + path for path in paths), *("tag:" + tag for tag in tags)])
    adapter = current_flask_app().url_map.bind("localhost")
    rules = [adapter.match(path, method="GET", return_rule=True)[0].rule for path in paths]
    _count_on_commit([*rules, *(rule.rule for tag in tags for rule in _tagged_rules(tag))])


def invalidate_all() -> None:
    """Make stale every stored response, in the write transaction that calls it."""
    bump([ALL])


def clear() -> None:
    """Drop every stored response from the backend and from this worker's memory.

    Other workers' copies in memory are made stale by :func:`invalidate_all`,
    which ``services.clear_cache`` calls first.
    """
    current_flask_app().extensions["practice_cache"].clear()
