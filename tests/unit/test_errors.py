"""The one error handler: HTML pages outside /api/, even when the layout itself fails."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.exc import OperationalError

from practice_app.extensions import db


def test_error_page_survives_a_database_that_is_down(
    app: Flask,
    client: FlaskClient,
    make_user: Callable[..., int],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    uid = make_user("alice")
    with client.session_transaction() as session:
        session["_user_id"] = str(uid)

    def down(*_args: Any, **_kwargs: Any) -> Any:
        raise OperationalError("SELECT 1", {}, Exception("database is down"))

    app.config["PROPAGATE_EXCEPTIONS"] = False
    with app.app_context():
        monkeypatch.setattr(db.session, "get", down)
        monkeypatch.setattr(db.session, "scalars", down)
        response = client.get("/")
    assert response.status_code == 500
    assert response.mimetype == "text/html"
    assert "Something went wrong" in response.get_data(as_text=True)


def test_flask_smorest_still_has_the_hook_that_extensions_api_turns_off(
    client: FlaskClient,
) -> None:
    """``extensions.Api`` overrides flask-smorest's private ``_register_error_handlers`` so that
    no app-wide JSON handler takes over the HTML pages' errors. If a release renames it, the
    override would silently stop working: this fails first, and the page below would be JSON."""
    import flask_smorest

    assert callable(getattr(flask_smorest.Api, "_register_error_handlers", None))
    page = client.get("/problems/999999")
    assert (page.status_code, page.mimetype) == (404, "text/html")
    api = client.get("/api/problems/999999")
    assert (api.status_code, api.get_json()) == (404, {"error": "Problem not found"})
