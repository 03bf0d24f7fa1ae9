"""On-demand revalidation (Next.js's revalidatePath and revalidateTag), and clearing the cache."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

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
    """Say why no stored response can exist for ``path`` (``caching.why_not_stored``).

    The cache knows which URLs are canonical and cached; the app adds that an
    id in one must be one a problem can have.
    """
    return caching.why_not_stored(path, _check_problem_id)


def _check_problem_id(values: Mapping[str, Any]) -> str | None:
    problem_id = values.get("problem_id")
    if problem_id is not None and parse_problem_id(problem_id) is None:
        return f"{problem_id!r} is not a problem id (1 to {MAX_ID}, in ASCII digits)."
    return None


def clear_cache() -> None:
    """Drop every stored response: stale in every worker at once, then gone from the backend."""
    with write_transaction():
        caching.invalidate_all()
    caching.clear()
