"""The benchmarks: four entry scripts, each a ``make`` target, and what they share.

``run.py`` (``make bench``, its parts in ``cache_hit/``), ``growth.py``
(``make bench-growth``, its parts in ``catalogue_growth/``), ``search.py``
(``make bench-search``, its parts in ``search_mix/``, which takes its
catalogues and the Next.js build from ``catalogue_growth/``) and ``load.py``
(``make load``) share the modules beside them: ``common`` (servers started,
asked and stopped, their workers' memory and CPU), ``wrk`` (wrk run and read),
``capture`` (a hit replayed by ``raw_wsgi``) and ``problems`` (the synthetic
problems). The throw-away PostgreSQL and redis-server, the project's CLI and free
ports are ``devservers/``'s, the tests' too. Nothing here imports from tests/.

The scripts run as ``python bench/<script>.py``, so bench/ is first on sys.path:
no module here may take the name of one the app or the scripts import.
"""
