"""The JSON API blueprint (the route handlers)."""

from .routes import bp

__all__ = ["bp"]
