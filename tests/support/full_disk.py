"""A full disk for the cache, for machines where the tests may not mount a small tmpfs.

``FullDiskCache`` is Flask-Caching's file-system cache that refuses every
write while the file named by ``PRACTICE_TEST_FULL_DISK`` exists, as a full
disk does (deletes still work). gunicorn loads it by its dotted name
(``FLASK_CACHE_TYPE=tests.support.full_disk.FullDiskCache``) from the project root.
"""

from __future__ import annotations

import os
from typing import Any

from flask_caching.backends.filesystemcache import FileSystemCache

FLAG = "PRACTICE_TEST_FULL_DISK"


class FullDiskCache(FileSystemCache):
    def _full(self) -> bool:
        return os.path.exists(os.environ[FLAG])

    def set(
        self, key: str, value: Any, timeout: int | None = None, mgmt_element: bool = False
    ) -> Any:
        if self._full():
            return False  # what cachelib answers when the write fails with ENOSPC
        return super().set(key, value, timeout=timeout, mgmt_element=mgmt_element)

    def add(self, key: str, value: Any, timeout: int | None = None) -> Any:
        if self._full():
            return False
        return super().add(key, value, timeout=timeout)
