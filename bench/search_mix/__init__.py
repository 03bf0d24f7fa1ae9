"""``bench/search.py``'s parts (``make bench-search``): search under a Zipf mix and writes.

``settings`` (the options, the sides and their routes, the targets),
``queries`` (the 1,000 queries of the catalogue, ranked, and the one Zipf
sequence of paths both sides are sent), ``mix.lua`` (wrk's script: the
sequence walked in order, a ``POST`` every second on one of wrk's own
connections, answers counted by ``X-Data-Cache``), ``runs`` (one side's timed run),
``sides`` (one catalogue: ours and Next.js served, answers checked, the
rounds) and ``report`` (the Markdown). The catalogues, gunicorn's flags and
the Next.js build are ``catalogue_growth``'s; wrk's runner is ``bench/wrk.py``.
"""
