"""The WSGI entry point in a checkout: ``gunicorn wsgi:app`` (installed: ``practice_app.wsgi``)."""

from practice_app.wsgi import app

__all__ = ["app"]
