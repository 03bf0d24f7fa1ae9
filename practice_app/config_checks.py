"""Every configuration value checked once, at start-up: the rules, and the message naming it.

A value the app cannot use (``FLASK_CACHE_SHARED_MAX_AGE=-5`` or ``abc``, an
unknown ``FLASK_CACHE_TYPE``, a malformed rate limit) stops ``create_app``,
and so gunicorn and the CLI, with a message naming the variable as the
operator set it; the app never starts half-working. ``RULES`` has a rule for
every key of ``config.Defaults`` (a test fails when one is missing).
"""

from __future__ import annotations

import inspect
import math
import os
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlsplit

import limits
from flask_caching.backends.base import BaseCache
from limits.storage import Storage as LimitsStorage
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError
from werkzeug.utils import import_string

from .adapters.limits import known_storage_schemes
from .cors import CorsPolicy


class ConfigError(ValueError):
    """A configuration value the app cannot use; the message names the variable that set it."""


# A rule takes a value and says what is wrong with it ("must be ... (got ...)"), or None.
Rule = Callable[[Any], str | None]


def _got(value: Any) -> str:
    return f"(got {value!r})"


def _kind(value: Any) -> str:
    """What a value is, without showing it (for secrets)."""
    kinds = {bool: "true or false", int: "a number", float: "a number", list: "a list"}
    return kinds.get(type(value), "an object" if isinstance(value, dict) else "another type")


def _optional(rule: Rule) -> Rule:
    return lambda value: None if value is None else rule(value)


def _whole(unit: str, minimum: int) -> Rule:
    def check(value: Any) -> str | None:
        if isinstance(value, int) and not isinstance(value, bool) and value >= minimum:
            return None
        return f"must be a whole number of {unit}, {minimum} or more {_got(value)}"

    return check


def _seconds(*, zero: bool) -> Rule:
    def check(value: Any) -> str | None:
        number = isinstance(value, int | float) and not isinstance(value, bool)
        if number and math.isfinite(value) and (value > 0 or (zero and value == 0)):
            return None
        return (
            f"must be a number of seconds, {'0 or more' if zero else 'more than 0'} {_got(value)}"
        )

    return check


def _bool(value: Any) -> str | None:
    return None if isinstance(value, bool) else f"must be true or false {_got(value)}"


def _text(value: Any) -> str | None:
    if isinstance(value, str):
        return None
    # FLASK_* values are read as JSON: FLASK_API_VERSION=1.0 is a number.
    return f"must be text (got {value!r}; in a FLASK_ variable, put it in double quotes)"


def _secret(value: Any) -> str | None:
    return None if isinstance(value, str | bytes) else f"must be text (got {_kind(value)})"


def _mapping(value: Any) -> str | None:
    return None if isinstance(value, dict) else f"must be a JSON object {_got(value)}"


def _periods(value: Any) -> str | None:
    # Which endpoints may take a period is for the cache to say, once the views exist.
    if isinstance(value, dict) and all(
        isinstance(seconds, int) and not isinstance(seconds, bool) and seconds >= 1
        for seconds in value.values()
    ):
        return None
    return (
        "must map endpoints to whole numbers of seconds, 1 or more, "
        f'such as {{"api.stats": 60}} {_got(value)}'
    )


def _same_site(value: Any) -> str | None:
    # Werkzeug title-cases it, and refuses anything else when it sets the cookie.
    if value is None or (isinstance(value, str) and value.title() in ("Strict", "Lax", "None")):
        return None
    return f"must be Strict, Lax or None {_got(value)}"


def _database_url(value: Any) -> str | None:
    if value == "":  # unset: SQLite in the instance folder
        return None
    try:
        make_url(value)
    except (ArgumentError, TypeError, AttributeError):
        # Not shown: a database URL may hold a password.
        return "must be a database URL such as postgresql+psycopg://user:pw@host/name"
    return None


def _rate_limits(value: Any) -> str | None:
    try:
        limits.parse_many(value)
    except (ValueError, TypeError):
        return (
            "must be rate limits in Flask-Limiter's notation, such as '10 per minute' "
            f"or '10/minute;50 per hour' {_got(value)}"
        )
    return None


def _limits_storage(value: Any) -> str | None:
    # The app's own storages register their schemes with limits as they are imported.
    from . import rate_limits  # noqa: F401

    if value == "":  # unset: the default storage
        return None
    scheme = urlsplit(value).scheme if isinstance(value, str) else ""
    schemes = known_storage_schemes()
    storage = schemes.get(scheme)
    if storage is not None and issubclass(storage, LimitsStorage):
        return None
    known = ", ".join(sorted(s for s, cls in schemes.items() if issubclass(cls, LimitsStorage)))
    # Only the scheme is shown: a storage URI may hold a password.
    got = f"{scheme}://..." if scheme else "no scheme" if isinstance(value, str) else _kind(value)
    return f"must be a rate-limit storage URI of scheme {known} (got {got})"


def _cache_type(value: Any) -> str | None:
    # Resolved as Flask-Caching resolves it: a bare name is one of its backends;
    # a dotted path names a BaseCache subclass, or a factory function.
    if isinstance(value, str) and value:
        path = value if "." in value else f"flask_caching.backends.{value}"
        try:
            backend = import_string(path)
        except ImportError:
            pass
        else:
            if isinstance(backend, type):
                if issubclass(backend, BaseCache):
                    return None
            elif inspect.isfunction(backend):
                return None
    return (
        "must name a Flask-Caching backend (FileSystemCache, RedisCache, NullCache...) "
        f"or the dotted path of one {_got(value)}"
    )


def _origins(value: Any) -> str | None:
    if isinstance(value, str) or (
        isinstance(value, list) and all(isinstance(entry, str) for entry in value)
    ):
        try:
            CorsPolicy.from_config(value, 0)
        except ValueError:
            pass
        else:
            return None
    return f"must be origins like https://example.com[:port], comma-separated, or * {_got(value)}"


# Every key of Defaults, and the library switches an operator sets.
RULES: dict[str, Rule] = {
    "SECRET_KEY": _optional(_secret),
    "SQLALCHEMY_DATABASE_URI": _optional(_database_url),
    "SQLALCHEMY_ENGINE_OPTIONS": _mapping,
    "SQLITE_BUSY_TIMEOUT_MS": _whole("milliseconds", 0),
    "MAX_CONTENT_LENGTH": _optional(_whole("bytes", 1)),
    "MAX_FORM_MEMORY_SIZE": _optional(_whole("bytes", 1)),
    "CACHE_TYPE": _cache_type,
    "CACHE_DIR": _optional(_text),
    "CACHE_THRESHOLD": _whole("entries", 0),
    "CACHE_DEFAULT_TIMEOUT": _whole("seconds", 0),
    "CACHE_ENTRY_SECONDS": _whole("seconds", 0),
    "CACHE_RETRY_SECONDS": _seconds(zero=True),
    "CACHE_REDIS_TIMEOUT_SECONDS": _seconds(zero=False),
    "CACHE_SHARED_MAX_AGE": _optional(_whole("seconds", 0)),
    "CACHE_KEY_PREFIX": _text,
    "CACHE_VERSION": _optional(_text),
    "CACHE_REGENERATE_LOCK_SECONDS": _whole("seconds", 1),
    "CACHE_REVALIDATE": _periods,
    "CACHE_RENDER_WAIT_SECONDS": _seconds(zero=True),
    "CACHE_DATA_SLOTS": _whole("entries", 1),
    "SESSION_COOKIE_HTTPONLY": _bool,
    "SESSION_COOKIE_SAMESITE": _same_site,
    "SESSION_COOKIE_SECURE": _bool,
    "REMEMBER_COOKIE_HTTPONLY": _bool,
    "REMEMBER_COOKIE_SAMESITE": _same_site,
    "WTF_CSRF_TIME_LIMIT": _optional(_whole("seconds", 1)),
    "RATELIMIT_ENABLED": _bool,
    "RATELIMIT_STORAGE_URI": _optional(_limits_storage),
    "RATELIMIT_IN_MEMORY_FALLBACK_ENABLED": _bool,
    "RATELIMIT_SWALLOW_ERRORS": _bool,
    "RATELIMIT_REDIS_TIMEOUT_SECONDS": _seconds(zero=False),
    "RATELIMIT_HEADERS_ENABLED": _bool,
    "SIGN_IN_RATE_LIMIT": _rate_limits,
    "API_WRITE_RATE_LIMIT": _rate_limits,
    "API_TITLE": _text,
    "API_VERSION": _text,
    "OPENAPI_VERSION": _text,
    "OPENAPI_URL_PREFIX": _optional(_text),
    "OPENAPI_JSON_PATH": _optional(_text),
    "OPENAPI_SWAGGER_UI_PATH": _optional(_text),
    "OPENAPI_SWAGGER_UI_URL": _optional(_text),
    "OPENAPI_SWAGGER_UI_CONFIG": _mapping,
    "CORS_ORIGINS": _origins,
    "CORS_MAX_AGE": _whole("seconds", 0),
    "REVALIDATE_SECRET": _optional(_secret),
    "REVALIDATE_WINDOW_SECONDS": _seconds(zero=False),
    "IDEMPOTENCY_KEY_SECONDS": _whole("seconds", 1),
    "PROXY_FIX_HOPS": _whole("proxies", 0),
}


def check_config(config: Mapping[str, Any], test_config: Mapping[str, Any] | None = None) -> None:
    """Check every value the app reads, or raise ConfigError naming the first one it cannot use.

    Run once, before anything is built from the values, so the app stops at
    start-up instead of starting half-working, and the code that reads them
    can trust them. The message names the variable as the operator set it:
    ``FLASK_<KEY>`` when that environment variable gave the value (and no
    ``test_config`` overrode it), else the key (instance ``config.py``).
    """
    for key, rule in RULES.items():
        if key not in config:  # a library switch left at its library's default
            continue
        problem = rule(config[key])
        if problem is not None:
            variable = f"FLASK_{key}"
            if variable not in os.environ or key in (test_config or {}):
                variable = key
            raise ConfigError(f"{variable} {problem}")
