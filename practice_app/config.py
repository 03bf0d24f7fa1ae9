"""Configuration in layers, later wins.

1. ``Defaults`` below (every key the app reads, with a safe value);
2. ``config.py`` in the instance folder, when it exists;
3. environment variables with the ``FLASK_`` prefix (``Flask.from_prefixed_env``);
4. the mapping a test passes to ``create_app``.

Every value is then checked (``config_checks.check_config``): one the app cannot use stops
it at start-up, with a message naming the variable that set it. Values that
depend on where the instance folder is (the SQLite file, the cache directory,
the secret key file) are filled in last, only when no layer set them.
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import stat
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask
from flask.logging import wsgi_errors_stream
from sqlalchemy.engine import make_url

from .config_checks import ConfigError, check_config

__all__ = ["ConfigError", "Defaults", "check_config", "load_config"]

SECRET_KEY_FILE = "secret_key"
# Alembic's scripts, inside the package so that an installed wheel has them.
MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def instance_path() -> str | None:
    """Return the instance folder ``PRACTICE_APP_INSTANCE`` names, or None for Flask's default.

    Flask's default is ``instance/`` beside the package in a source checkout
    (or an editable install), and ``<prefix>/var/practice_app-instance`` for a
    package installed into an environment (``sys.prefix``: the virtualenv).
    """
    configured = os.environ.get("PRACTICE_APP_INSTANCE")
    return str(Path(configured).resolve()) if configured else None


class Defaults:
    """The package's defaults: the first layer."""

    SECRET_KEY: str | None = None
    SQLALCHEMY_DATABASE_URI: str | None = None  # None: SQLite in the instance folder
    SQLALCHEMY_ENGINE_OPTIONS: dict[str, Any] = {}
    SQLITE_BUSY_TIMEOUT_MS = 10_000
    # 1 MiB: larger bodies are answered 413 before any view runs.
    MAX_CONTENT_LENGTH = 1024 * 1024
    MAX_FORM_MEMORY_SIZE = 1024 * 1024

    # Flask-Caching. The default backend is a directory in the instance
    # folder, so every gunicorn worker on the machine shares it; set
    # FLASK_CACHE_TYPE=RedisCache and FLASK_CACHE_REDIS_URL for several machines.
    CACHE_TYPE = "FileSystemCache"
    CACHE_DIR: str | None = None  # None: instance/cache
    # Keys are canonical URLs, so entries are bounded by the views and the
    # catalogue; the threshold is a backstop (pruning only loses entries,
    # never makes an old one current: the database's versions decide that).
    CACHE_THRESHOLD = 20_000
    CACHE_DEFAULT_TIMEOUT = 0
    # Stored entries expire after a day, so ones no URL reaches any more go away.
    CACHE_ENTRY_SECONDS = 86_400
    # After a backend failure, leave it alone this long (serving dynamically).
    CACHE_RETRY_SECONDS = 1.0
    # Redis socket timeouts: a stopped or paused Redis costs a request this, at most.
    CACHE_REDIS_TIMEOUT_SECONDS = 0.25
    # None: stored responses say "public, no-cache" (a proxy or CDN must ask
    # the app before each use). N: "public, s-maxage=M, stale-while-revalidate=M",
    # M = N capped at the route's revalidate period, for a CDN the deploy purges.
    CACHE_SHARED_MAX_AGE: int | None = None
    CACHE_KEY_PREFIX = "practice:"
    # What stored responses are filed under; None: a hash of the package's
    # files, so a deploy of other code starts with an empty cache.
    CACHE_VERSION: str | None = None
    # Seconds a worker may hold the lock that lets it regenerate a stale entry
    # (or render a missing one while the other requests for it wait).
    CACHE_REGENERATE_LOCK_SECONDS = 30
    # Revalidate periods by endpoint, over what the views declare (only views
    # declared with revalidate=N): FLASK_CACHE_REVALIDATE='{"api.stats": 60}'.
    CACHE_REVALIDATE: dict[str, int] = {}
    # After a write, one request renders a URL and the others wait for its
    # entry this long at most, then render themselves.
    CACHE_RENDER_WAIT_SECONDS = 2.0
    # Results each data-cached read keeps at most (search: one per distinct query
    # in use; a slot each, by a hash of the query, so distinct queries replace).
    CACHE_DATA_SLOTS = 10_000

    # Session cookie: HttpOnly and SameSite=Lax; Secure when served over HTTPS
    # (set FLASK_SESSION_COOKIE_SECURE=true behind TLS).
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = False
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"

    WTF_CSRF_TIME_LIMIT = 3600 * 8

    # Flask-Limiter: POSTs to /login and /register per client address, and API
    # writes per token. Over a limit: 429 with Retry-After. None: a SQLite file
    # in the instance folder, shared by every worker of the machine
    # (rate_limits.SQLiteStorage); FLASK_RATELIMIT_STORAGE_URI=redis://... for
    # several machines. If the storage fails, limits count per worker in memory
    # until it is back (Flask-Limiter's fallback), and errors are never a 500.
    RATELIMIT_STORAGE_URI: str | None = None
    RATELIMIT_IN_MEMORY_FALLBACK_ENABLED = True
    RATELIMIT_SWALLOW_ERRORS = True
    # Redis socket timeouts for the limits: a stopped or paused Redis costs this, at most.
    RATELIMIT_REDIS_TIMEOUT_SECONDS = 0.25
    RATELIMIT_HEADERS_ENABLED = True
    SIGN_IN_RATE_LIMIT = "10 per minute;50 per hour"
    # API writes (POST, PUT, PATCH, DELETE under /api/) per token.
    API_WRITE_RATE_LIMIT = "600 per minute"

    # flask-smorest: the OpenAPI document and Swagger UI, served locally.
    API_TITLE = "Practice Problems API"
    API_VERSION = "1.0"
    OPENAPI_VERSION = "3.0.3"
    OPENAPI_URL_PREFIX = "/api"
    OPENAPI_JSON_PATH = "openapi.json"
    OPENAPI_SWAGGER_UI_PATH = "docs"
    OPENAPI_SWAGGER_UI_URL = "/api/docs/assets/"
    # No badge from swagger.io's online validator: the page loads nothing from elsewhere.
    OPENAPI_SWAGGER_UI_CONFIG: dict[str, Any] = {"validatorUrl": None}

    # CORS for /api/: origins allowed to call it from a browser, comma-separated,
    # or "*". Empty: no CORS headers at all. Preflights may be kept this long.
    CORS_ORIGINS = ""
    CORS_MAX_AGE = 600

    # POST /api/revalidate signed as a webhook: HMAC-SHA256 with this secret of
    # "TIMESTAMP.BODY", within this many seconds of the server's clock. No
    # secret: signed calls are refused (an admin's token still works).
    REVALIDATE_SECRET: str | None = None
    REVALIDATE_WINDOW_SECONDS = 300

    # Idempotency-Key on POST /api/problems: a success is replayed this long.
    IDEMPOTENCY_KEY_SECONDS = 86_400

    # Behind a reverse proxy that sets X-Forwarded-*, set to the number of proxies.
    PROXY_FIX_HOPS = 0


def load_config(app: Flask, test_config: Mapping[str, Any] | None) -> None:
    """Fill ``app.config`` from the four layers, check it, then derive what is left unset."""
    app.config.from_object(Defaults)
    app.config.from_pyfile("config.py", silent=True)
    app.config.from_prefixed_env()
    if test_config is not None:
        app.config.from_mapping(test_config)
    check_config(app.config, test_config)

    instance = Path(app.instance_path)
    # The instance folder holds the database and the secret key: private.
    instance.mkdir(parents=True, exist_ok=True, mode=0o700)
    if not app.config.get("SQLALCHEMY_DATABASE_URI"):
        app.config["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{instance / 'practice.sqlite3'}"
    database = _sqlite_file(app.config["SQLALCHEMY_DATABASE_URI"], instance)
    if database is not None:
        _keep_private(app, database)
    if make_url(app.config["SQLALCHEMY_DATABASE_URI"]).get_backend_name() != "sqlite":
        # A server database may restart under the workers: test each pooled
        # connection when it is checked out, so the first request after a restart
        # gets a new connection instead of a 500 (configured options win).
        app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {
            "pool_pre_ping": True,
            **app.config["SQLALCHEMY_ENGINE_OPTIONS"],
        }
    if app.config["CACHE_TYPE"] == "FileSystemCache" and not app.config.get("CACHE_DIR"):
        app.config["CACHE_DIR"] = str(instance / "cache")
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = _instance_secret_key(instance / SECRET_KEY_FILE)


def init_logging() -> None:
    """Give the root logger one stderr handler, unless whoever runs the app configured logging.

    The app's records ("practice_app", "practice_app.caching") then go out
    once, through the root, as do libraries' (cachelib logs through the root
    logger itself, whose first call would otherwise run ``logging.basicConfig``
    and print every later app record a second time beside Flask's own
    handler). The format is gunicorn's, with the logger's name.
    """
    root = logging.getLogger()
    if root.handlers:
        return
    # Flask's stream: the server's error stream during a request, else stderr.
    handler = logging.StreamHandler(wsgi_errors_stream)  # type: ignore[call-overload]
    handler.setFormatter(
        logging.Formatter(
            "[%(asctime)s] [%(process)d] [%(levelname)s] %(name)s: %(message)s",
            "%Y-%m-%d %H:%M:%S %z",
        )
    )
    root.addHandler(handler)


def _sqlite_file(uri: str, instance: Path) -> Path | None:
    """The file of a SQLite URI; a relative path is in the instance folder (Flask-SQLAlchemy)."""
    url = make_url(uri)
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return None
    if url.query.get("uri"):  # "file:...?mode=...": SQLite's own URI, left alone
        return None
    return instance / str(url.database)


def _keep_private(app: Flask, database: Path) -> None:
    """Create the SQLite file 0600, and take group and other bits off an existing one.

    SQLite gives the ``-wal`` and ``-shm`` files it creates the database
    file's mode, so they are private too; leftover ones are tightened here.
    """
    with contextlib.suppress(OSError):  # there already, or SQLite will say why not
        os.close(os.open(database, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    for path in (database, Path(f"{database}-wal"), Path(f"{database}-shm")):
        try:
            mode = stat.S_IMODE(path.stat().st_mode)
            if mode & 0o077:
                path.chmod(mode & 0o700)
                app.logger.warning(
                    "%s was open to other users (mode %04o); it is now %04o",
                    path,
                    mode,
                    mode & 0o700,
                )
        except FileNotFoundError:
            continue
        except OSError as exc:
            app.logger.warning("cannot make %s private: %s", path, exc)


def _instance_secret_key(path: Path) -> str:
    """Read the generated secret key, creating it (mode 0600) the first time.

    Several gunicorn workers may start at once: the key is written to a private
    temporary file and hard-linked into place, which fails if another worker got
    there first; that worker's key is then read, so every worker shares one key.
    """
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        pass
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_hex(32) + "\n")
        with contextlib.suppress(FileExistsError):
            os.link(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path.read_text().strip()
