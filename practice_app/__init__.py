"""Practice Problems: Next.js route handlers and server actions, done in Flask."""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from typing import Any

from flask import Response, request
from werkzeug.middleware.proxy_fix import ProxyFix

from . import (
    bodies,
    caching,
    cli,
    compression,
    cors,
    documents,
    errors,
    headers,
    models,
    rate_limits,
    security,
    telemetry,
)
from .adapters.smorest import drop_pagination
from .api import bp as api_bp
from .api import openapi
from .api.schemas import Timestamp
from .config import MIGRATIONS, init_logging, instance_path, load_config
from .extensions import api, csrf, db, init_sqlite, login_manager, migrate, route_cache
from .flask_app import PracticeFlask, ProblemIdConverter
from .meta import bp as meta_bp
from .web import bp as web_bp


def create_app(test_config: Mapping[str, Any] | None = None) -> PracticeFlask:
    """Build the app, one step after another; each step is a function below."""
    init_logging()
    app = PracticeFlask(__name__, instance_path=instance_path(), instance_relative_config=True)
    load_config(app, test_config)  # every value checked: a bad one stops here
    # The package's logger has no handler of its own (init_logging gave the root
    # one, so Flask adds none): each record goes out once, through the root.
    app.logger.debug("configured from %s", app.instance_path)
    app.json.sort_keys = False  # type: ignore[attr-defined]
    _bind_extensions(app)
    _register_api(app)
    app.register_blueprint(meta_bp)
    app.register_blueprint(web_bp)
    _add_hooks(app)
    cli.register(app)
    route_cache.init_app(app)  # after the blueprints: it reads their views' declarations
    with app.app_context():
        documents.prepare(db.engine.dialect)
    _build_wsgi_stack(app)
    return app


def _bind_extensions(app: PracticeFlask) -> None:
    """Bind the extensions created unbound in ``extensions``, and the signed-in user's loader."""
    # First of the before_request hooks: CSRF and rate limits come after it.
    bodies.init_app(app)
    db.init_app(app)
    init_sqlite(app)
    migrate.init_app(app, db, directory=str(MIGRATIONS))
    csrf.init_app(app)
    login_manager.init_app(app)
    rate_limits.init_app(app)

    @login_manager.user_loader
    def load_user(user_id: str) -> models.User | None:
        # "<id>:<session_token>" (User.get_id): signing out gives the user a new
        # token, so no session or remember-me cookie from before loads anyone.
        number, _, token = user_id.partition(":")
        if not (number.isascii() and number.isdigit()):
            return None
        user = db.session.get(models.User, int(number))
        if user is None or not hmac.compare_digest(user.session_token.encode(), token.encode()):
            return None
        telemetry.name_user(request.environ, user.name)
        return user


def _register_api(app: PracticeFlask) -> None:
    """The JSON API's blueprint, with flask-smorest writing its OpenAPI document."""
    api.init_app(
        app,
        spec_kwargs={
            "extra_plugins": [openapi.HouseRules()],
            "tags": openapi.TAGS,
            "info": {"description": openapi.description(app.config["API_WRITE_RATE_LIMIT"])},
        },
    )
    drop_pagination(api.spec, api.ma_plugin.converter)
    api.register_field(Timestamp, "string", "date-time")
    api.register_converter(ProblemIdConverter, openapi.problem_id_schema)
    api.ma_plugin.converter.add_attribute_function(openapi.nullable_ref_first)
    api.ma_plugin.converter.add_attribute_function(openapi.shorter_pattern)
    api.spec.components.security_scheme(
        "bearerAuth",
        {"type": "http", "scheme": "bearer", "description": openapi.BEARER_DESCRIPTION},
    )
    # The API authenticates with bearer tokens, never with the session cookie
    # for writes, so a cross-site form cannot forge its requests: no CSRF token.
    csrf.exempt(api_bp)
    api.register_blueprint(api_bp)


def _add_hooks(app: PracticeFlask) -> None:
    """Errors, compression, security headers, and the metrics' route label on every request."""
    errors.register_error_handlers(app)
    compression.init_app(app)
    security.init_app(app)

    @app.url_value_preprocessor
    def name_route(_endpoint: str | None, _values: dict[str, Any] | None) -> None:
        # The first hook of a request Flask routes: its rule labels the metrics.
        rule = request.url_rule
        telemetry.name_route(request.environ, rule.rule if rule is not None else None)

    @app.after_request
    def default_cache_control(response: Response) -> Response:
        # Error pages and anything else no view declared are never stored.
        response.headers.setdefault("Cache-Control", caching.DYNAMIC_CACHE_CONTROL)
        return response


def _build_wsgi_stack(app: PracticeFlask) -> None:
    """Wrap Flask in the WSGI layers every response passes, from the inside out.

    1. Flask, with the cache's hit path right in front of it (``route_cache.init_app``
       puts it there): stored responses and 304s are served before Flask runs.
    2. CORS, outside the cache, so hits and 304s get their CORS headers too.
    3. ``headers``' rules (nosniff; no Content-Type on a 204; Retry-After with a
       429 or 503 only), outside CORS and the cache, for every response.
    4. Telemetry: every response gets its request id and is counted and logged,
       whichever layer inside made it.
    5. ProxyFix, outermost when there is a proxy in front, so every layer sees
       the client's address and scheme.
    """
    cors_policy = cors.CorsPolicy.from_config(
        app.config["CORS_ORIGINS"], int(app.config["CORS_MAX_AGE"])
    )
    wsgi = app.wsgi_app
    if cors_policy.enabled:
        wsgi = cors.CorsMiddleware(wsgi, cors_policy)
    wsgi = headers.HeaderRulesMiddleware(wsgi)
    wsgi = telemetry.TelemetryMiddleware(wsgi)
    if app.config["PROXY_FIX_HOPS"]:
        hops = int(app.config["PROXY_FIX_HOPS"])
        wsgi = ProxyFix(wsgi, x_for=hops, x_proto=hops, x_host=hops)
    app.wsgi_app = wsgi  # type: ignore[method-assign]
