"""flask-smorest's ``Api`` without its app-wide error handler.

flask-smorest has no setting to keep it from registering a JSON handler for
every ``HTTPException`` of the app (its ``init_app`` calls the private
``_register_error_handlers``); overriding that method is the only way.
``tests/unit/test_adapters.py`` fails when the installed flask-smorest no
longer has it, or no longer calls it from ``init_app``.
"""

from __future__ import annotations

from flask_smorest import Api as _SmorestApi

from ..errors import ErrorBody


class Api(_SmorestApi):
    """flask-smorest's Api without its app-wide error handler.

    flask-smorest registers a JSON handler for every ``HTTPException`` of the
    app, which would turn the HTML pages' errors into JSON; ``errors.py`` owns
    error rendering for the whole app instead, and its body is what the
    OpenAPI document describes.
    """

    ERROR_SCHEMA = ErrorBody

    def _register_error_handlers(self) -> None:
        return None
