"""The ``web`` blueprint itself: every page and form action of the feature modules is on it."""

from __future__ import annotations

from flask import Blueprint

from .. import security

bp = Blueprint("web", __name__)
bp.before_request(security.refuse_other_origins)
bp.after_request(security.page_headers)
