"""Throw-away processes that the tests and the benchmarks both start.

The project's CLI and free ports (``processes``), a PostgreSQL cluster
(``postgres``) and a redis-server (``redis``): one way of starting each, for
``tests/support/`` and ``bench/`` alike. Nothing here imports pytest or the app,
so ``make load`` runs ``bench/`` on the app's own packages alone; and nothing
here is installed with the app (pyproject.toml packages ``practice_app`` only).
A server that cannot start (not installed, or not answering) raises
RuntimeError saying why; tests/support/backends.py turns that into a pytest
failure for the session's servers.
"""
