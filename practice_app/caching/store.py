"""The shared store: stored responses in the Flask-Caching backend, and the regeneration lock.

Nothing here decides whether an entry is current (``versions`` does): the
store only keeps what it is given and hands it back, and every failure of the
backend is a miss, logged as a warning at most once a minute. After a failure
the backend is left alone for ``retry_seconds``, so a stopped or paused Redis
costs one request one socket timeout, not every request.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flask_caching.backends.nullcache import NullCache

from .compression import CODINGS, MIN_SIZE, variant_etag

log = logging.getLogger(__name__)

# Bytes of response bodies each worker keeps in memory (see ResponseStore.get):
# those of current entries (a body a write replaced is dropped at once), up to
# this; the list of 100,000 problems with its two encodings is about 130 MB.
LOCAL_BODY_BYTES = 256 * 1024 * 1024
# Entries (their heads; bodies are above) each worker remembers (see ResponseStore.recent).
RECENT_ENTRIES = 10_000
# Data cache entries each worker remembers (see ResponseStore.recent_data): a search's is
# a page of 50 documents at most, some tens of KB.
RECENT_DATA = 1024


def body_etag(body: bytes) -> str:
    """The strong ``ETag`` of a representation: a hash of its bytes.

    Stored responses carry it, and so do the answers to writes (the API's
    ``If-Match`` compares against it), so a client holds one ETag per state.
    """
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


# The headers an entry's answers in one encoding share: before and after X-Cache and Age.
Fixed = tuple[tuple[tuple[str, str], ...], tuple[tuple[str, str], ...]]


@dataclass
class Entry:
    """A stored response: plain data, never an ORM object."""

    status: int
    headers: list[tuple[str, str]]
    body: bytes
    etag: str
    stored_at: float
    revalidate: int | None
    # The database versions it was rendered under (see ``versions``).
    versions: dict[str, int] = field(default_factory=dict)
    # The body compressed once, by encoding (``br``, ``gzip``); none when it is small.
    # A render fills it after sending its MISS, before storing it (``render``).
    encoded: dict[str, bytes] = field(default_factory=dict)
    # The headers its answers send in each encoding, made by the hit path once (``middleware``).
    wire: dict[str | None, Fixed] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    @property
    def compressible(self) -> bool:
        """Whether the body is sent compressed to clients that take it (1 KiB or more)."""
        return len(self.body) >= MIN_SIZE

    def body_for(self, coding: str | None) -> tuple[bytes, str | None]:
        """The body to send for a client that takes ``coding``, and its encoding (None: as is)."""
        if coding is not None and coding in self.encoded:
            return self.encoded[coding], coding
        return self.body, None

    def etags(self) -> tuple[str, ...]:
        """The ETag of each encoding of this response: any of them is a 304."""
        if not self.compressible:
            return (self.etag,)
        return (self.etag, *(variant_etag(self.etag, coding) for coding in CODINGS))

    def age(self, now: float) -> int:
        return max(0, int(now - self.stored_at))

    def is_fresh(self, now: float) -> bool:
        return self.revalidate is None or now - self.stored_at < self.revalidate

    def head(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "headers": self.headers,
            "etag": self.etag,
            "stored_at": self.stored_at,
            "revalidate": self.revalidate,
            "versions": self.versions,
        }


class BackendUnavailable(Exception):
    """The backend failed a moment ago and is being left alone."""


class ResponseStore:
    """Stored responses as a small head under the key plus the bodies under its ETag.

    The bodies are the response as made (under ``""``) and its compressed
    encodings, made once when it is stored.
    """

    def __init__(
        self,
        backend: Any,
        *,
        clock: Callable[[], float],
        lock_seconds: int,
        cache_dir: Path | None,
        version: str = "",
        entry_seconds: int = 0,
        retry_seconds: float = 1.0,
    ) -> None:
        self.backend = backend
        # Heads are filed under the code's version: a deploy starts with none,
        # as a Next.js build does, and never serves what the old code rendered.
        self.head_prefix = f"view:{version}:"
        self.data_prefix = f"data:{version}:"
        self.cache_dir = cache_dir
        self.lock_dir = (
            None if cache_dir is None else cache_dir.with_name(cache_dir.name + ".locks")
        )
        self.clock = clock
        self.lock_seconds = lock_seconds
        self.entry_seconds = entry_seconds
        self.retry_seconds = retry_seconds
        self._down_until = 0.0
        self._last_warning = 0.0
        self._bodies: dict[str, dict[str, bytes]] = {}
        self._kept_bytes = 0
        # How many remembered entries use each kept body (see ``_remember``).
        self._refs: dict[str, int] = {}
        # The last entry this worker read or stored for each key (see ``recent``).
        self._recent: OrderedDict[str, Entry] = OrderedDict()
        # The data cache's entries this worker last read or stored (see ``recent_data``).
        self._recent_data: OrderedDict[str, dict[str, Any]] = OrderedDict()
        # Threads of one worker (gthread) share these copies.
        self._memory_lock = threading.Lock()
        # NullCache stands in when the configured backend could not be created.
        self.enabled = not isinstance(backend, NullCache)

    # -- failures --------------------------------------------------------------------

    def _check_up(self) -> None:
        if not self.enabled:
            raise BackendUnavailable("no cache backend")
        if time.monotonic() < self._down_until:
            raise BackendUnavailable("the cache backend failed a moment ago")

    def _failed(self, action: str, exc: BaseException) -> None:
        if isinstance(exc, BackendUnavailable):
            return
        now = time.monotonic()
        self._down_until = now + self.retry_seconds
        if now - self._last_warning > 60 or not self._last_warning:
            self._last_warning = now
            log.warning("cache %s failed, serving dynamically: %r", action, exc)

    def available(self) -> bool:
        """Whether there is a backend to store to: configured, not failed a moment ago, writable.

        (The file backend's render locks are in a directory of their own, so
        taking one does not show that the cache directory can be written.)
        """
        if not self.enabled or time.monotonic() < self._down_until:
            return False
        return self.cache_dir is None or os.access(self.cache_dir, os.W_OK)

    # -- entries ---------------------------------------------------------------------

    def recent(self, key: str) -> Entry | None:
        """The entry this worker last read or stored for ``key``, if any.

        Whether it is still current is for the database's versions to say; if
        they still match, it is as good as the shared copy, and a hit need not
        read the backend at all.
        """
        return self._recent.get(key)

    def _remember(self, key: str, entry: Entry) -> None:
        """Remember ``entry`` as ``key``'s; a body no remembered entry uses any more is dropped.

        So a worker's memory holds the bodies of current entries, not every
        body a write has since replaced.
        """
        with self._memory_lock:
            previous = self._recent.get(key)
            self._recent[key] = entry
            self._recent.move_to_end(key)
            if previous is None or previous.etag != entry.etag:
                self._refs[entry.etag] = self._refs.get(entry.etag, 0) + 1
                if previous is not None:
                    self._unref(previous.etag)
            while len(self._recent) > RECENT_ENTRIES:
                _key, forgotten = self._recent.popitem(last=False)
                self._unref(forgotten.etag)

    def _unref(self, etag: str) -> None:
        left = self._refs.get(etag, 0) - 1
        if left > 0:
            self._refs[etag] = left
            return
        self._refs.pop(etag, None)
        bodies = self._bodies.pop(etag, None)
        if bodies is not None:
            self._kept_bytes -= sum(map(len, bodies.values()))

    def get(self, key: str) -> Entry | None:
        """Return the stored response of ``key`` from the shared backend, or None.

        Each worker keeps the bodies it has read, under their ETag (a hash of
        the body), so this usually reads only the small head.
        """
        try:
            self._check_up()
            head = self.backend.get(self.head_prefix + key)
            if not isinstance(head, dict):
                return None
            bodies = self._bodies.get(head["etag"])
            if bodies is None:
                bodies = self.backend.get("body:" + head["etag"])
                if not isinstance(bodies, dict) or not isinstance(bodies.get(""), bytes):
                    return None
                self._keep(head["etag"], bodies)
            encoded = {coding: body for coding, body in bodies.items() if coding}
            entry = Entry(body=bodies[""], encoded=encoded, **head)
        except Exception as exc:
            self._failed("read", exc)
            return None
        self._remember(key, entry)
        return entry

    def _keep(self, etag: str, bodies: dict[str, bytes]) -> None:
        with self._memory_lock:
            if etag in self._bodies:
                return
            self._bodies[etag] = bodies
            self._kept_bytes += sum(map(len, bodies.values()))
            while self._kept_bytes > LOCAL_BODY_BYTES and len(self._bodies) > 1:
                oldest = next(iter(self._bodies))
                self._kept_bytes -= sum(map(len, self._bodies.pop(oldest).values()))

    def put(self, key: str, entry: Entry) -> bool:
        """Store ``entry`` under ``key``; False when the backend refused it."""
        previous = self._previous_etag(key)
        try:
            self._check_up()
            timeout = self.entry_seconds
            bodies = {"": entry.body, **entry.encoded}
            if not self.backend.set("body:" + entry.etag, bodies, timeout=timeout):
                raise OSError("the backend refused the body")
            if not self.backend.set(self.head_prefix + key, entry.head(), timeout=timeout):
                raise OSError("the backend refused the entry")
        except Exception as exc:
            self._failed("write", exc)
            return False
        if previous is not None and previous != entry.etag:
            self.discard_body(previous)
        self._keep(entry.etag, bodies)
        self._remember(key, entry)
        return True

    # -- the data cache's entries ----------------------------------------------------

    def recent_data(self, key: str) -> Any:
        """The data entry this worker last read or stored under ``key`` (current or not)."""
        return self._recent_data.get(key)

    def remember_data(self, key: str, entry: dict[str, Any]) -> None:
        """Keep ``entry`` as this worker's copy of ``key`` (the last RECENT_DATA keys)."""
        with self._memory_lock:
            self._recent_data[key] = entry
            self._recent_data.move_to_end(key)
            while len(self._recent_data) > RECENT_DATA:
                self._recent_data.popitem(last=False)

    def get_data(self, key: str) -> Any:
        """The data cache's entry under ``key``, or None (also when the backend fails)."""
        try:
            self._check_up()
            return self.backend.get(self.data_prefix + key)
        except Exception as exc:
            self._failed("read", exc)
            return None

    def put_data(self, key: str, entry: dict[str, Any]) -> bool:
        """Keep a data cache entry under ``key``; False when the backend refused it."""
        try:
            self._check_up()
            stored = self.backend.set(self.data_prefix + key, entry, timeout=self.entry_seconds)
            if not stored:
                raise OSError("the backend refused the data entry")
        except Exception as exc:
            self._failed("write", exc)
            return False
        return True

    def _previous_etag(self, key: str) -> str | None:
        # Apart from the write: an entry that cannot be read (a corrupt file)
        # is simply replaced.
        try:
            self._check_up()
            head = self.backend.get(self.head_prefix + key)
            return str(head["etag"]) if isinstance(head, dict) else None
        except Exception:
            return None

    def discard_body(self, etag: str) -> None:
        """Drop a body no head points to any more (best effort: bodies also expire)."""
        try:
            self._check_up()
            self.backend.delete("body:" + etag)
        except Exception:
            log.debug("dropping an old body failed", exc_info=True)

    def clear(self) -> None:
        self.backend.clear()
        with self._memory_lock:
            self._bodies.clear()
            self._refs.clear()
            self._kept_bytes = 0
            self._recent.clear()
            self._recent_data.clear()

    # -- the regeneration lock -------------------------------------------------------

    def try_lock(self, key: str) -> bool:
        """Take the lock that lets one worker of all regenerate ``key``; False if not taken."""
        return bool(self.lock(key))

    def lock(self, key: str) -> bool | None:
        """Take the lock that lets one worker of all render ``key``: True, or False when held.

        None when the backend cannot say (it is down): then nobody should wait
        for anybody. The lock holds its expiry by the store's clock, so a
        worker that died while rendering leaves it for ``lock_seconds`` at most.
        """
        expires = self.clock() + self.lock_seconds
        try:
            self._check_up()
            if self.lock_dir is None:
                # The backend's own expiry frees the lock of a worker that died:
                # ``add`` alone decides (Redis's SET NX). Taking it over when it
                # looked expired let two workers hold it, and render twice.
                return bool(self.backend.add("lock:" + key, expires, timeout=self.lock_seconds))
            self.lock_dir.mkdir(parents=True, exist_ok=True)
            path = self._lock_path(key)
            if self._create_lock(path, expires):
                return True
            try:
                text = path.read_text()
            except FileNotFoundError:  # released a moment ago: try once more
                return self._create_lock(path, expires)
            if not text:
                # Being written by the worker that just made it; a worker that
                # died right there leaves it for lock_seconds of real time.
                if time.time() - path.stat().st_mtime < self.lock_seconds:
                    return False
            elif float(text) > self.clock():
                return False
            path.unlink(missing_ok=True)  # left by a worker that died regenerating
            return self._create_lock(path, expires)
        except Exception as exc:
            self._failed("lock", exc)
            return None

    @staticmethod
    def _create_lock(path: Path, expires: float) -> bool:
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
        except FileExistsError:
            return False
        try:
            with os.fdopen(fd, "w") as handle:
                handle.write(repr(expires))
        except BaseException:
            # A full disk makes the file but not its text: an empty lock left behind
            # would make every request for the key wait render_wait for 30 s.
            path.unlink(missing_ok=True)
            raise
        return True

    def release(self, key: str) -> None:
        try:
            if self.lock_dir is None:
                self.backend.delete("lock:" + key)
            else:
                self._lock_path(key).unlink(missing_ok=True)
        except Exception as exc:
            self._failed("unlock", exc)

    def _lock_path(self, key: str) -> Path:
        assert self.lock_dir is not None
        return self.lock_dir / hashlib.sha256(key.encode("utf-8", "surrogateescape")).hexdigest()
