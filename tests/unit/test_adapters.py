"""Each reach of ``practice_app.adapters`` into a library's private parts, against the installed
version: a release that renames or reshapes what an adapter relies on fails here first.

And the app's JSON ``response`` (``json_provider``), which follows Flask's rules without calling
Flask's private helper for them, against Flask's own provider.
"""

from __future__ import annotations

import inspect
import json
from typing import Any

import flask_smorest
import limits.aio.storage
import limits.storage
import pytest
from flask import Flask, jsonify
from flask.json.provider import DefaultJSONProvider
from flask.testing import FlaskClient
from limits.errors import ConfigurationError

from practice_app import rate_limits
from practice_app.adapters.limits import known_storage_schemes
from practice_app.adapters.smorest import Api


def test_flask_smorest_still_has_the_hook_that_the_api_adapter_turns_off(
    client: FlaskClient,
) -> None:
    """``adapters.smorest.Api`` overrides flask-smorest's private ``_register_error_handlers``
    so that no app-wide JSON handler takes over the HTML pages' errors. If a release renames
    it, changes what it takes, or stops calling it from ``init_app``, the override would
    silently stop working (or break): this fails first, and the page below would be JSON."""
    hook = getattr(flask_smorest.Api, "_register_error_handlers", None)
    assert callable(hook)
    assert list(inspect.signature(hook).parameters) == ["self"]
    assert "self._register_error_handlers()" in inspect.getsource(flask_smorest.Api.init_app)
    assert Api._register_error_handlers is not hook

    page = client.get("/problems/999999")
    assert (page.status_code, page.mimetype) == (404, "text/html")
    api = client.get("/api/problems/999999")
    assert (api.status_code, api.get_json()) == (404, {"error": "Problem not found"})


def test_limits_still_registers_its_storage_schemes_where_the_limits_adapter_reads_them() -> None:
    """``adapters.limits.known_storage_schemes`` reads ``limits``' private registry, which
    ``config_checks`` uses to tell a known ``FLASK_RATELIMIT_STORAGE_URI`` scheme."""
    schemes = known_storage_schemes()
    assert schemes["memory"] is limits.storage.MemoryStorage
    assert schemes["redis"] is limits.storage.RedisStorage
    # The app's own storage registers its scheme as practice_app.rate_limits is imported.
    assert schemes[rate_limits.SCHEME] is rate_limits.SQLiteStorage
    storages = (limits.storage.Storage, limits.aio.storage.Storage)
    assert all(isinstance(cls, type) and issubclass(cls, storages) for cls in schemes.values())
    # The registry read is the one limits itself builds storages from.
    assert isinstance(limits.storage.storage_from_string("memory://"), schemes["memory"])
    assert "no-such-scheme" not in schemes
    with pytest.raises(ConfigurationError):
        limits.storage.storage_from_string("no-such-scheme://")
    # A copy: what a caller does to it does not change limits' registry.
    schemes.clear()
    assert "memory" in known_storage_schemes()


@pytest.mark.parametrize(
    ("args", "kwargs"),
    [
        ((), {}),
        ((None,), {}),
        ((1,), {}),
        (("text",), {}),
        (([1, 2],), {}),
        (({"a": 1},), {}),
        ((1, "two", [3]), {}),
        ((), {"a": 1, "b": [2, "three"]}),
    ],
    ids=["none", "one None", "one int", "one str", "one list", "one dict", "several", "kwargs"],
)
def test_jsonify_writes_what_flasks_own_provider_writes(
    app: Flask, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> None:
    with app.app_context():
        ours = jsonify(*args, **kwargs)
        flasks = DefaultJSONProvider(app).response(*args, **kwargs)
    assert ours.mimetype == flasks.mimetype == "application/json"
    assert json.loads(ours.get_data()) == json.loads(flasks.get_data())


def test_jsonify_refuses_args_and_kwargs_together_as_flask_does(app: Flask) -> None:
    message = "app.json.response() takes either args or kwargs, not both"
    with app.app_context():
        with pytest.raises(TypeError) as ours:
            jsonify(1, a=2)
        with pytest.raises(TypeError) as flasks:
            DefaultJSONProvider(app).response(1, a=2)
    assert str(ours.value) == str(flasks.value) == message
