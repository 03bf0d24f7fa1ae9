"""On-demand revalidation (Next.js's revalidatePath and revalidateTag), and clearing the cache."""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import unquote, urlsplit

from flask import current_app
from werkzeug.exceptions import HTTPException
from werkzeug.routing import RequestRedirect

from .. import caching
from ..errors import FieldErrors
from ..models import MAX_ID
from .problems import parse_problem_id
from .transactions import write_transaction


def revalidate(paths: Sequence[str], tags: Sequence[str]) -> tuple[list[str], list[str]]:
    """Drop the stored responses of ``paths`` and of every view tagged with one of ``tags``.

    Next.js's ``revalidatePath`` and ``revalidateTag``, for a CMS or a deploy
    hook: the versions are bumped in one transaction, so once this returns,
    the next GET of each, on any worker, is rendered afresh. Each path must
    be the canonical URL of a cached view (:func:`_why_unstorable`), and each tag
    one a view declares; otherwise FieldErrors, and nothing is recorded for
    any of them. Returns the paths and the tags, once each.
    """
    errors: dict[str, list[str]] = {}
    for path in paths:
        why = _why_unstorable(path)
        if why is not None:
            errors.setdefault("paths", []).append(f"{path}: {why}")
    declared = caching.declared_tags()
    for tag in tags:
        if tag not in declared:
            known = ", ".join(sorted(declared))
            errors.setdefault("tags", []).append(f"No view declares the tag {tag!r} ({known}).")
    if not paths and not tags:
        errors["paths"] = ["Name at least one path or tag."]
    if errors:
        raise FieldErrors(errors)
    named_paths, named_tags = list(dict.fromkeys(paths)), list(dict.fromkeys(tags))
    with write_transaction():
        caching.revalidate(named_paths, named_tags)
    return named_paths, named_tags


def _why_unstorable(path: str) -> str | None:
    """Say why no stored response can exist for ``path``; None when one can.

    One can for exactly the canonical spelling (as ``url_for`` builds it) of
    a URL that a cached GET view answers (declared, not ``force-dynamic``),
    with an id a problem can have. Revalidating any other path would record
    a version that no stored response reads: a caller could grow the table
    of versions without bound by inventing paths.
    """
    decoded = unquote(path)
    if not decoded.startswith("/") or any(c in "?#" or not c.isprintable() for c in decoded):
        return "not a path: it starts with / and holds no query, fragment or control character."
    adapter = current_app.url_map.bind("localhost")
    try:
        rule, values = adapter.match(decoded, method="GET", return_rule=True)
    except RequestRedirect as redirect:
        return f"not the canonical spelling, which is {urlsplit(redirect.new_url).path}."
    except HTTPException:
        return "no route of this site answers GET for it."
    policy = caching.policy_for(current_app, rule.endpoint, "GET")
    if policy is None or policy.mode == "force-dynamic":
        return "its view is never cached, so no stored response can be dropped."
    problem_id = values.get("problem_id")
    if problem_id is not None and parse_problem_id(problem_id) is None:
        return f"{problem_id!r} is not a problem id (1 to {MAX_ID}, in ASCII digits)."
    canonical = adapter.build(rule.endpoint, values, method="GET")
    if canonical != path:
        return f"not the canonical spelling, which is {canonical}."
    return None


def clear_cache() -> None:
    """Drop every stored response: stale in every worker at once, then gone from the backend."""
    with write_transaction():
        caching.invalidate_all()
    caching.clear()
