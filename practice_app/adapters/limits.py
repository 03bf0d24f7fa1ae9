"""The storage schemes ``limits`` knows, for checking ``FLASK_RATELIMIT_STORAGE_URI``.

``limits`` registers each storage class under its ``STORAGE_SCHEME`` in the
private ``limits._storage_scheme.SCHEMES``, and offers no public way to list
them: ``limits.storage.storage_from_string`` only builds a storage (which may
connect, and needs the backend's client installed), and ``limits.storage``
imports ``SCHEMES`` without exporting it (it is not in its ``__all__``).
``tests/unit/test_adapters.py`` fails when the installed ``limits`` changes it.
"""

from __future__ import annotations

from limits._storage_scheme import SCHEMES


def known_storage_schemes() -> dict[str, type]:
    """Each storage scheme registered with ``limits`` so far, and its storage class.

    A copy, as of this call: a storage class registers its schemes when it is
    defined, so import the app's own (``practice_app.rate_limits``) first. Both
    the synchronous storages and ``limits.aio``'s (``async+redis``...) are here.
    """
    return dict(SCHEMES)
