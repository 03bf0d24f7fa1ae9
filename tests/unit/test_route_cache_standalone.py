"""The caching extension stands alone: it imports nothing of the app, binds to any Flask app,
and its table is the one the app's migrations make.

``tests/e2e/test_route_cache_example.py`` runs a copy of it in an app of its own under
gunicorn; these check the same promises from inside, quickly.
"""

from __future__ import annotations

import ast
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask import Flask, Request, request
from flask_caching import Cache
from flask_sqlalchemy import SQLAlchemy

from practice_app import caching
from practice_app.caching import adapter
from practice_app.caching.tracking import TrackingRequest
from practice_app.extensions import db, route_cache

PACKAGE = Path(caching.__file__).parent


def _imports(path: Path) -> list[tuple[int, str]]:
    """Each import of a module as (relative level, module name)."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom):
            found.append((node.level, node.module or ""))
        elif isinstance(node, ast.Import):
            found.extend((0, alias.name) for alias in node.names)
    return found


def test_no_module_of_the_package_imports_the_app_around_it() -> None:
    modules = sorted(PACKAGE.glob("*.py"))
    assert len(modules) > 10
    for path in modules:
        for level, name in _imports(path):
            assert level <= 1, f"{path.name} imports from outside the package: {'.' * level}{name}"
            assert not name.startswith("practice_app"), f"{path.name} imports {name}"


def test_it_binds_to_a_plain_flask_app_with_a_request_class_of_its_own(tmp_path: Path) -> None:
    class OwnRequest(Request):
        def shout(self) -> str:
            return self.path.upper()

    app = Flask(__name__)
    app.request_class = OwnRequest
    app.config.update(
        SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'own.sqlite3'}",
        CACHE_TYPE="FileSystemCache",
        CACHE_DIR=str(tmp_path / "cache"),
        CACHE_VERSION="v1",
    )
    own_db = SQLAlchemy()
    own_db.init_app(app)

    @app.get("/static")
    def static_view() -> str:
        return request.shout()  # type: ignore[attr-defined]

    @app.get("/dynamic")
    def dynamic_view() -> str:
        return request.args.get("q", "")

    caching.RouteCache(app, db=own_db, cache=Cache())
    with app.app_context():
        own_db.create_all()
    assert issubclass(app.request_class, TrackingRequest)
    assert issubclass(app.request_class, OwnRequest)
    client = app.test_client()
    states = [client.get("/static", buffered=True).headers.get("X-Cache") for _ in range(2)]
    assert states == ["MISS", "HIT"]
    assert client.get("/static").get_data(as_text=True) == "/STATIC"
    assert "X-Cache" not in client.get("/dynamic?q=x").headers


def test_run_views_through_wraps_the_view_flask_runs_after_the_before_request_hooks() -> None:
    """``adapter.run_views_through`` relies on Flask calling ``self.dispatch_request()``."""
    app = Flask(__name__)
    seen: list[str] = []

    @app.before_request
    def before() -> None:
        seen.append("before")

    @app.get("/")
    def index() -> str:
        seen.append("view")
        return "ok"

    def dispatch(flask_app: Flask, run_view: object) -> object:
        assert flask_app is app
        seen.append("dispatch")
        return run_view()  # type: ignore[operator]

    adapter.run_views_through(app, dispatch)
    assert app.test_client().get("/").get_data(as_text=True) == "ok"
    assert seen == ["before", "dispatch", "view"]


def test_the_version_table_is_the_one_the_migrations_make(app: Flask) -> None:
    """Nothing to migrate for ``cache_versions``: the extension's table and migration 0002 agree."""
    assert route_cache.table is db.metadata.tables["cache_versions"]
    with app.app_context(), db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, db.metadata)
    about_versions = [d for d in differences if "cache_versions" in repr(d)]
    assert about_versions == []
