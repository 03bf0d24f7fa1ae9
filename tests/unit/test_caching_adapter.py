"""The caching package's reaches into Flask's private attributes still hold on this Flask."""

from __future__ import annotations

from flask import Flask, session

from practice_app.caching import adapter
from practice_app.caching.tracking import TrackingRequest


def test_the_adapter_finds_the_request_the_app_and_the_raw_session(app: Flask) -> None:
    with app.test_request_context("/t"):
        assert isinstance(adapter.current_request(), TrackingRequest)
        assert adapter.current_flask_app() is app
        raw = adapter.raw_session()
        assert raw is not None
        raw.accessed = False
        assert adapter.raw_session() is raw
        assert raw.accessed is False  # looking at it through the adapter is not a read
        session.get("anything")
        assert raw.accessed is True  # a read through flask.session is seen
