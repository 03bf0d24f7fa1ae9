"""Routes about the app itself: its health, and the files of the API docs page."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import swagger_ui_bundle
from flask import Blueprint, Response, jsonify, send_from_directory
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from .caching import cache_view
from .extensions import db

log = logging.getLogger(__name__)

bp = Blueprint("meta", __name__)

SWAGGER_UI_DIR = Path(swagger_ui_bundle.swagger_ui_path)


@bp.get("/healthz")
@cache_view("force-dynamic")
def health() -> Any:
    """200 when the database answers, 503 when it does not."""
    try:
        db.session.execute(text("SELECT 1"))
    except SQLAlchemyError as exc:
        db.session.rollback()
        log.warning("health check: the database does not answer: %r", exc)
        return jsonify(status="unavailable", error="The database does not answer."), 503
    return jsonify(status="ok")


@bp.get("/api/docs/assets/<path:filename>")
def swagger_asset(filename: str) -> Response:
    """Swagger UI's own files, served from the swagger-ui-bundle package (no CDN)."""
    return send_from_directory(SWAGGER_UI_DIR, filename, max_age=86_400)


swagger_asset.cache_exempt = True  # type: ignore[attr-defined]
