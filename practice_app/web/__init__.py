"""The HTML blueprint: pages and form actions (Next.js's server actions)."""

from .routes import bp

__all__ = ["bp"]
