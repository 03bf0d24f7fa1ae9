"""What the tests share that is not a fixture: servers, backends, HTTP and form helpers.

Fixtures live in the ``conftest.py`` files (``tests/`` for every test, and one per
directory for its own); test modules import helpers from this package alone, never
from one another. What bench/ starts too (the project's CLI, free ports, a
PostgreSQL cluster, a redis-server) lives outside tests/, in ``devservers/``, which
imports neither pytest nor the app: ``make load`` runs without the test tools.
"""
