"""Routes about the app itself: its health, its metrics, and the files of the API docs page."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import swagger_ui_bundle
from flask import Blueprint, Response, abort, jsonify, request, send_from_directory
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from . import services, telemetry
from .api.auth import bearer_token
from .caching import cache_exempt, cache_view
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


LOOPBACK = frozenset({"127.0.0.1", "::1"})
# Headers a reverse proxy adds: a request carrying one did not come from this machine.
PROXY_HEADERS = ("X-Forwarded-For", "Forwarded", "X-Real-IP")


METRICS_PATH = "/metrics"


@bp.get(METRICS_PATH)
@cache_exempt
def metrics() -> Response:
    """Prometheus's text format, summed over every gunicorn worker (guarded by hide_metrics)."""
    body, content_type = telemetry.render_metrics()
    return Response(body, content_type=content_type)


# Never stored, and left alone by the cache: its hit path redirects another
# spelling of a declared view (//metrics) to the canonical one before Flask
# runs, which would tell anyone that the path exists.


@bp.before_app_request
def hide_metrics() -> None:
    """Answer any request for the metrics as an unknown path, unless its caller may read them.

    They are for an admin's token, or a request from this machine that did
    not come through a proxy (a reverse proxy on the same machine must not
    make them public). To anyone else every method answers 404, as for a path
    that does not exist: a before-request hook runs before Flask answers a
    method the route lacks (405 with ``Allow``) or ``OPTIONS`` (204), which
    would tell them it does.
    """
    if request.path == METRICS_PATH and not _may_read_metrics():
        abort(404)


def _may_read_metrics() -> bool:
    token = bearer_token()
    if token is not None:
        row = services.live_token(token)
        if row is not None and row.user.is_admin:
            return True
    proxied = any(name in request.headers for name in PROXY_HEADERS)
    return request.remote_addr in LOOPBACK and not proxied


@bp.get("/api/docs/assets/<path:filename>")
@cache_exempt
def swagger_asset(filename: str) -> Response:
    """Swagger UI's own files, served from the swagger-ui-bundle package (no CDN)."""
    return send_from_directory(SWAGGER_UI_DIR, filename, max_age=86_400)
