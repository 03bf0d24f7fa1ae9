"""The WSGI entry point of an installed package: ``gunicorn practice_app.wsgi:app``.

The project's top-level ``wsgi.py`` (``gunicorn wsgi:app`` in a checkout)
imports this very app: it is made here, once, and nowhere else.
"""

from practice_app import create_app

app = create_app()
