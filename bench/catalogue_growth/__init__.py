"""``bench/growth.py``'s parts (``make bench-growth``): the read path as the catalogue grows.

``settings`` (the options, the routes, the targets), ``catalogue`` (the
numbered problems and their rows), ``servers`` (each catalogue ready to serve,
on SQLite or on PostgreSQL + Redis), ``measures`` (searches, cold lists, wrk,
CPU per POST, bursts), ``results`` (what they gather), ``nextjs`` (the same
routes from a Next.js 14 app, ``--next-ref``), ``rounds`` (one backend's run, in
order) and ``report`` (the Markdown). ``bench/growth.py`` runs each backend in turn.
"""
