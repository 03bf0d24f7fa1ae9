"""Invalidation: what a write calls inside its transaction, before its commit.

Next.js's ``revalidatePath`` and ``revalidateTag``: each bumps the versions
of what it names in the write's own transaction (``versions``), so they
commit with the data, or not at all. Call them from the code that writes,
after a flush (a new row has its id) and before the commit.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any
from urllib.parse import unquote, urlsplit

from sqlalchemy import event
from sqlalchemy.orm import Session
from werkzeug.exceptions import HTTPException
from werkzeug.routing import BuildError, RequestRedirect, Rule

from .adapter import current_flask_app
from .policy import policy_for
from .state import bound
from .versions import ALL, bump

# Where a write's session keeps the routes it invalidated until it commits,
# with the hook that counts them then.
_PENDING = "route_cache_invalidated"


def invalidate_tag(tag: str, **values: Any) -> None:
    """Make stale the stored response of every view tagged ``tag``, its URL built from ``values``.

    The data cache's results under ``tag`` (:func:`data.cache_data`) are
    dropped too. Views whose URL needs a value that is not given are left alone: with
    ``invalidate_tag("problems", problem_id=7)``, a list tagged ``problems``
    is dropped, and of the views of one problem, problem 7's only.
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
    _bump(["path:" + path for path in paths] + ["data:" + tag])
    _count_on_commit(rules)


def _tagged_rules(tag: str) -> list[Rule]:
    """The URL rules of the GET views that declare ``tag`` (found once per app and tag)."""
    app = current_flask_app()
    known: dict[str, list[Rule]] = app.extensions.setdefault("route_cache_tagged_rules", {})
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


def _bump(names: list[str]) -> None:
    cache = bound()
    bump(cache.extension.db.session(), cache.extension.table, names)


def _count_on_commit(rules: Iterable[str]) -> None:
    """Count these routes' entries as invalidated once the write's transaction commits."""
    extension = bound().extension
    pending = extension.db.session().info.setdefault(_PENDING, [])
    pending.extend((extension.count, rule) for rule in rules)


def _counted(session: Session) -> None:
    for count, rule in session.info.pop(_PENDING, ()):
        count(rule, "invalidated")


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
    transaction. Each path must be one :func:`why_not_stored` accepts.
    """
    paths, tags = list(paths), list(tags)
    _bump(
        [
            *("path:" + path for path in paths),
            *("tag:" + tag for tag in tags),
            *("data:" + tag for tag in tags),
        ]
    )
    adapter = current_flask_app().url_map.bind("localhost")
    rules = [adapter.match(path, method="GET", return_rule=True)[0].rule for path in paths]
    _count_on_commit([*rules, *(rule.rule for tag in tags for rule in _tagged_rules(tag))])


def invalidate_data(tags: Iterable[str]) -> None:
    """Make stale the data cache's results that depend on these data tags (``depends=``).

    Views are not looked at: these tags name what a read depends on (say,
    the three-letter pieces of a name a search's text holds), and there may
    be many of them per write.
    """
    _bump(["data:" + tag for tag in set(tags)])


def invalidate_all() -> None:
    """Make stale every stored response, in the write transaction that calls it."""
    _bump([ALL])


def clear() -> None:
    """Drop every stored response from the backend and from this worker's memory.

    Other workers' copies in memory are made stale by :func:`invalidate_all`:
    call it first, in a write transaction of its own.
    """
    bound().store.clear()


def why_not_stored(
    path: str, check_values: Callable[[Mapping[str, Any]], str | None] | None = None
) -> str | None:
    """Say why no stored response can exist for ``path``; None when one can.

    One can for exactly the canonical spelling (as ``url_for`` builds it) of a
    URL that a cached GET view answers (declared, not ``force-dynamic``).
    ``check_values`` is the app's own rule for the URL's values (say, that an
    id is one a row can have): it returns why not, or None. Revalidating any
    other path would record a version that no stored response reads: a caller
    could grow the table of versions without bound by inventing paths.
    """
    decoded = unquote(path)
    if not decoded.startswith("/") or any(c in "?#" or not c.isprintable() for c in decoded):
        return "not a path: it starts with / and holds no query, fragment or control character."
    app = current_flask_app()
    adapter = app.url_map.bind("localhost")
    try:
        rule, values = adapter.match(decoded, method="GET", return_rule=True)
    except RequestRedirect as redirect:
        return f"not the canonical spelling, which is {urlsplit(redirect.new_url).path}."
    except HTTPException:
        return "no route of this site answers GET for it."
    policy = policy_for(app, rule.endpoint, "GET")
    if policy is None or policy.mode == "force-dynamic":
        return "its view is never cached, so no stored response can be dropped."
    why = check_values(values) if check_values is not None else None
    if why is not None:
        return why
    canonical = adapter.build(rule.endpoint, values, method="GET")
    if canonical != path:
        return f"not the canonical spelling, which is {canonical}."
    return None
