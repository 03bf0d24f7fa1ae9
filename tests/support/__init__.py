"""What the tests share that is not a fixture: servers, backends, HTTP and form helpers.

Fixtures live in the ``conftest.py`` files (``tests/`` for every test, and one per
directory for its own); test modules import helpers from this package alone, never
from one another. ``processes`` imports neither pytest nor the app: bench/ uses it,
and ``make load`` runs without the test tools.
"""
