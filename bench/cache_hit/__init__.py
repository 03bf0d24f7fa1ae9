"""``bench/run.py``'s parts (``make bench``): a cache hit against a raw WSGI app.

``settings`` (the options and the paths measured), ``timings`` (the miss path
over HTTP, the hit path in this process), ``py_spy`` (where one worker's time
goes) and ``report`` (the Markdown). The run itself, in order, is ``bench/run.py``.
"""
