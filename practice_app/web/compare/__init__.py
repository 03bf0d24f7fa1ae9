"""/compare: route handlers against server actions, code beside code, with a live panel.

One module a part: ``live`` (the panel's calls), ``excerpts`` (this app's
code, read from its source when the page renders) and ``samples`` (Next.js's
code, and Flask-Caching used alone, as their documentation shows them).
"""

from __future__ import annotations

from importlib.metadata import version

from flask import current_app, render_template

from ..blueprint import bp
from .excerpts import compare_excerpts, extension_lines
from .live import LIVE_ROUTES, call_live
from .samples import SAMPLES


@bp.get("/compare")
def compare() -> str:
    """Route handlers against server actions, in this app, code beside code; with a live panel."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    live = [call_live(app, route) for route in LIVE_ROUTES]
    return render_template(
        "web/compare.html",
        live=live,
        code=compare_excerpts(),
        sample=SAMPLES,
        extension_lines=extension_lines(),
        flask_caching_version=version("flask-caching"),
    )
