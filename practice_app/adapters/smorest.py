"""flask-smorest's ``Api`` without its app-wide error handler, and without pagination.

flask-smorest has no setting to keep it from registering a JSON handler for
every ``HTTPException`` of the app (its ``init_app`` calls the private
``_register_error_handlers``); overriding that method is the only way.
``tests/unit/test_adapters.py`` fails when the installed flask-smorest no
longer has it, or no longer calls it from ``init_app``. Nor has it a setting
to leave its ``PaginationMetadata`` out of the document
(:func:`drop_pagination`; ``tests/unit/test_api_docs.py`` fails when it is
back).
"""

from __future__ import annotations

from apispec import APISpec
from apispec.ext.marshmallow.openapi import OpenAPIConverter
from flask_smorest import Api as _SmorestApi

from ..errors import ErrorBody


class Api(_SmorestApi):
    """flask-smorest's Api without its app-wide error handler.

    flask-smorest registers a JSON handler for every ``HTTPException`` of the
    app, which would turn the HTML pages' errors into JSON; ``errors.py`` owns
    error rendering for the whole app instead, and its body is what the
    OpenAPI document describes.
    """

    ERROR_SCHEMA = ErrorBody

    def _register_error_handlers(self) -> None:
        return None


PAGINATION_SCHEMA = "PaginationMetadata"


def drop_pagination(spec: APISpec, converter: OpenAPIConverter) -> None:
    """Leave flask-smorest's ``@blp.paginate`` out of the document: no view of this API uses it.

    flask-smorest registers the ``X-Pagination`` header lazily (only a view
    that paginates shows it) but resolves its ``PaginationMetadata`` schema at
    once, so every document held a schema nothing refers to, which suggests a
    pagination the API does not have (search pages with ``limit``, ``offset``,
    ``X-Total-Count`` and ``Link``). No setting leaves it out: after
    ``Api.init_app``, this removes the lazy header, the schema, and the
    marshmallow plugin's record of it (so a schema that used it again would
    be registered afresh). A view that took up ``@blp.paginate`` would need
    this call gone.
    """
    spec.components.headers_lazy.pop("PAGINATION", None)
    spec.components.schemas.pop(PAGINATION_SCHEMA, None)
    for key, name in list(converter.refs.items()):
        if name == PAGINATION_SCHEMA:
            del converter.refs[key]
