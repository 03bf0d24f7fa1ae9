"""The data cache: Next.js's ``unstable_cache`` (and ``'use cache'`` with ``cacheTag``), for reads.

A dynamic view is never stored, but the reads it makes may be kept:
``@cache_data(tags=("problems",))`` on a function keeps its result by the
function and its canonical arguments, in the same backend as the stored
responses (so a repeat is a hit whichever worker answers it), checked
against the same database versions:

- An entry depends on ``all``, ``tag:<tag>`` and ``data:<tag>`` for each of
  its tags (or on finer data tags its arguments name: ``depends``).
  :func:`invalidation.invalidate_tag`, :func:`invalidation.invalidate_data`
  and :func:`invalidation.revalidate` bump them in the write's transaction,
  so once a write is answered, no worker of any machine serves a result
  read before it.
- The versions are read in the caller's transaction before the function
  reads anything, and stored with the result: a result is never recorded
  under versions newer than its data.
- Bounded: a function's entries live in ``CACHE_DATA_SLOTS`` slots, chosen
  by a hash of the arguments; a slot holds one result (with the arguments
  it is for), so a stream of distinct arguments replaces entries, never adds
  more than the slots.
- One computation per burst: after a miss, one caller of all computes (a
  lock in the backend); the others wait for its entry, as for a render.
- Memoized per request: the same function with the same arguments runs once
  in a request (React's ``cache``, which Next.js applies to ``fetch``).

The request's environ says what the data cache did (``DATA_ENVIRON``): ``HIT``
when every read came from it, ``MISS`` when any was read; the extension
answers it as ``X-Data-Cache``.
"""

from __future__ import annotations

import functools
import hashlib
import time
from collections.abc import Callable, Hashable, Iterable
from typing import Any, TypeVar, cast

from flask import current_app, g, has_app_context, has_request_context, request

from .state import EXTENSION, bound
from .versions import ALL, read_on

F = TypeVar("F", bound=Callable[..., Any])

# What a request's reads through the data cache were: HIT (all of them) or MISS.
DATA_ENVIRON = "route_cache.data"
DATA_HEADER = "X-Data-Cache"
# How often a caller waiting for another's computation looks for its entry.
WAIT_POLL_SECONDS = 0.01
_MEMO = "route_cache_memo"


def data_names(tags: Iterable[str], finer: Iterable[str] = ()) -> tuple[str, ...]:
    """The version names a data entry with these tags (and finer dependencies) depends on.

    ``tag:<t>`` for each tag (``revalidate(tags=...)`` bumps it), and the
    names writes bump: ``data:<t>`` for each tag, or, when the entry says
    what finer it depends on, ``data:<f>`` for each of those instead.
    """
    tags = tuple(tags)
    finer = tuple(finer)
    written = finer or tags
    return (ALL, *sorted({"tag:" + t for t in tags} | {"data:" + f for f in written}))


def cache_data(
    *,
    tags: Iterable[str] = (),
    revalidate: int | None = None,
    key: Callable[..., Hashable] | None = None,
    depends: Callable[..., Iterable[str]] | None = None,
) -> Callable[[F], F]:
    """Keep a read function's results, by its arguments, until a write to one of ``tags``.

    ``key(*args, **kwargs)`` gives the arguments' canonical form (two calls
    that must share a result give equal keys; its ``repr`` is the cache key);
    without it, the arguments themselves. ``depends(*args, **kwargs)`` may
    narrow what writes drop a result (as ``cacheTag`` with a computed tag):
    the data tags it returns (writes name them with :func:`invalidate_data`)
    replace the tags' own for writes; ``revalidate(tags=...)`` still drops
    it. Returning nothing keeps the tags'. ``revalidate``: seconds a result is
    kept at most, as ``cacheLife``. The result must be plain data the
    backend can keep (lists, dicts, tuples, numbers, strings), never ORM
    objects. Outside a request, or in an app without the extension, the
    function simply runs.
    """
    tag_names = tuple(tags)
    if revalidate is not None and revalidate <= 0:
        raise ValueError("revalidate takes a positive number of seconds")

    def decorate(function: F) -> F:
        name = f"{function.__module__}.{function.__qualname__}"

        @functools.wraps(function)
        def cached(*args: Any, **kwargs: Any) -> Any:
            if not has_app_context() or EXTENSION not in current_app.extensions:
                return function(*args, **kwargs)
            canonical = repr(key(*args, **kwargs) if key else (args, sorted(kwargs.items())))
            memo: dict[tuple[str, str], Any] = g.setdefault(_MEMO, {})
            if (name, canonical) in memo:
                return memo[(name, canonical)]
            finer = tuple(depends(*args, **kwargs)) if depends else ()
            names = data_names(tag_names, finer)
            value, state = _read_through(function, name, canonical, names, revalidate, args, kwargs)
            memo[(name, canonical)] = value
            if has_request_context():
                environ = request.environ
                was = environ.get(DATA_ENVIRON)
                environ[DATA_ENVIRON] = "MISS" if "MISS" in (state, was) else state
            return value

        return cast(F, cached)

    return decorate


def _read_through(
    function: Callable[..., Any],
    name: str,
    canonical: str,
    names: tuple[str, ...],
    revalidate: int | None,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
) -> tuple[Any, str]:
    """The function's result and whether it came from the data cache (HIT) or was read (MISS).

    A hit is checked as a stored response is: the entry (this worker's copy,
    else the shared one) against the versions the database holds now, read
    on the hit path's own connection, so a hit opens no transaction of the
    request's. A miss reads the versions again in the transaction the
    function's reads run in, before them, and records those.
    """
    cache = bound()
    store = cache.store
    digest = hashlib.sha256(f"{name}\x00{canonical}".encode("utf-8", "surrogateescape"))
    slot_key = f"{name}:{int.from_bytes(digest.digest()[:8], 'big') % cache.data_slots}"

    def current(versions: dict[str, int] | None) -> Any:
        if versions is None:
            return None
        for look in (store.recent_data, store.get_data):  # this worker's copy first
            entry = look(slot_key)
            if (
                isinstance(entry, dict)
                and entry.get("args") == canonical
                and entry.get("versions") == versions
                and (revalidate is None or store.clock() - entry["stored_at"] < revalidate)
            ):
                store.remember_data(slot_key, entry)
                return entry
        return None

    found = current(cache.middleware.current_versions(names))
    if found is not None:
        return found["value"], "HIT"
    session = cache.extension.db.session()
    # Before any data: in the transaction the function's reads will run in.
    versions = read_on(session.connection(), cache.extension.table, names)
    locked = store.lock("data:" + slot_key)
    if locked is False:  # another caller computes it: wait for its entry a moment
        deadline = time.monotonic() + cache.middleware.render_wait
        while time.monotonic() < deadline:
            time.sleep(WAIT_POLL_SECONDS)
            found = current(versions)
            if found is not None:
                return found["value"], "HIT"
    elif locked:
        # Another caller may have stored it between this one's look and its lock.
        found = current(versions)
        if found is not None:
            store.release("data:" + slot_key)
            return found["value"], "HIT"
    try:
        value = function(*args, **kwargs)
        entry = {
            "args": canonical,
            "value": value,
            "versions": versions,
            "stored_at": store.clock(),
        }
        if store.put_data(slot_key, entry):
            store.remember_data(slot_key, entry)
    finally:
        if locked:
            store.release("data:" + slot_key)
    return value, "MISS"
