"""The WSGI entry point: ``gunicorn wsgi:app``."""

from practice_app import create_app

app = create_app()
