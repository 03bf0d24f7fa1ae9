"""The one error handler: HTML pages outside /api/, even when the layout itself fails."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.exc import OperationalError

from practice_app.extensions import db
from tests.support.forms import sign_in


def test_error_page_survives_a_database_that_is_down(
    app: Flask,
    client: FlaskClient,
    make_user: Callable[..., int],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    make_user("alice")
    sign_in(client, "alice")

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
