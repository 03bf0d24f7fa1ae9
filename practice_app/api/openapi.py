"""What the OpenAPI document says beyond the schemas: headers, tags, and the house rules.

flask-smorest writes the document from the views' decorators and the
marshmallow schemas. This module holds the pieces the views name (response
headers, request headers, tags, the ``problem_id`` parameter) and a small
apispec plugin, :class:`HouseRules`, that states what holds for every
operation, so no view can forget it: each response carries ``X-Request-ID``;
an operation that takes a body may answer 400, 413 and 415; a write may
answer 429 with ``Retry-After``; an operation that takes a token may answer
401. Every error answer is the ``ErrorBody`` schema.
"""

from __future__ import annotations

from typing import Any

from apispec import BasePlugin
from werkzeug.routing import BaseConverter

from ..models import MAX_ID

ERROR_SCHEMA = {"$ref": "#/components/schemas/ErrorBody"}

# -- response headers ----------------------------------------------------------------


def _header(description: str, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"description": description, "schema": schema or {"type": "string"}}


ETAG = {"ETag": _header("The state of what the body shows: send it in If-Match or If-None-Match.")}
LOCATION = {"Location": _header("The new problem's URL.")}
REPLAYED = {
    "Idempotent-Replayed": _header(
        "true when this answers an earlier request with the same Idempotency-Key.",
        {"type": "string", "enum": ["true", "false"]},
    )
}
X_CACHE = {
    "X-Cache": _header(
        "MISS: made for this request and stored; HIT: from the cache; STALE: an expired "
        "entry, served while the next one is made.",
        {"type": "string", "enum": ["MISS", "HIT", "STALE"]},
    )
}
CACHE_CONTROL = {
    "Cache-Control": _header(
        "public, no-cache (a proxy may keep it but must ask again before each use), or "
        "public, s-maxage=N, stale-while-revalidate=N when FLASK_CACHE_SHARED_MAX_AGE is set."
    )
}
AGE = {"Age": _header("Seconds since it was stored (on a HIT or STALE).", {"type": "integer"})}
# A stored (cached) response: its 200 and its 304 carry these.
STORED = {**ETAG, **X_CACHE, **CACHE_CONTROL, **AGE}
PAGE = {
    "X-Total-Count": _header("How many problems match, in all.", {"type": "integer"}),
    "Link": _header('<URL of the next page>; rel="next", when more remain.'),
}
RETRY_AFTER = {"Retry-After": _header("Seconds to wait before trying again.", {"type": "integer"})}
RATE_LIMIT = {
    "X-RateLimit-Limit": _header("Writes allowed in the window.", {"type": "integer"}),
    "X-RateLimit-Remaining": _header("Writes left in the window.", {"type": "integer"}),
    "X-RateLimit-Reset": _header("When the window ends, in UNIX seconds.", {"type": "integer"}),
}
REQUEST_ID = {
    "X-Request-ID": _header(
        "The request's own X-Request-ID when it is 1-128 of A-Z a-z 0-9 . _ -, else a new one.",
        {"type": "string", "pattern": "^[A-Za-z0-9._-]{1,128}$"},
    )
}

# -- request headers ------------------------------------------------------------------

IDEMPOTENCY_KEY = {
    "in": "header",
    "name": "Idempotency-Key",
    "required": False,
    "schema": {"type": "string", "pattern": "^[\\x21-\\x7e]{1,255}$"},
    "description": (
        "Retry safely: a success is answered again, byte for byte, to the same token with "
        "the same key and body for 24 hours, and creates nothing more. Another body: 422."
    ),
}
IF_MATCH = {
    "in": "header",
    "name": "If-Match",
    "required": False,
    "schema": {"type": "string"},
    "description": "Change it only if it is still in the state of this ETag (or * : it exists).",
}
IF_NONE_MATCH = {
    "in": "header",
    "name": "If-None-Match",
    "required": False,
    "schema": {"type": "string"},
    "description": "The ETag you hold: 304 Not Modified, without a body, while it is current.",
}

# -- tags: one a resource ---------------------------------------------------------------

TAGS = [
    {"name": "problems", "description": "The catalogue: list, read, create, change, delete."},
    {"name": "search", "description": "Find problems by name, difficulty and tag (dynamic)."},
    {"name": "account", "description": "Who is calling."},
    {"name": "stats", "description": "Counts of problems (revalidates every 300 s)."},
    {"name": "cache", "description": "On-demand revalidation: revalidatePath and revalidateTag."},
    {"name": "clocks", "description": "Static, dynamic and revalidating routes, side by side."},
]


def problem_id_schema(_converter: BaseConverter) -> dict[str, Any]:
    """The ``problem_id`` path parameter: an integer id (anything else is a 404)."""
    return {"type": "integer", "minimum": 1, "maximum": MAX_ID}


NULL_OBJECT = {"type": "object", "nullable": True}


def nullable_ref_first(
    _converter: Any, field: Any, ret: dict[str, Any], **_: Any
) -> dict[str, Any]:
    """Name a nullable nested schema before its ``null``: ``anyOf: [UserOut, null object]``.

    apispec writes ``null`` first; a generated client tries the variants in
    order, and an object then parses as the empty "null object" variant.
    """
    variants = ret.get("anyOf")
    if getattr(field, "allow_none", False) and variants and variants[0] == NULL_OBJECT:
        return {"anyOf": [*variants[1:], NULL_OBJECT]}
    return {}


# -- what holds for every operation ---------------------------------------------------

GENERIC_ERRORS = {
    "400": "Malformed JSON, or a body that is not a JSON object",
    "401": "No valid token (WWW-Authenticate: Bearer)",
    "413": "The body is over 1 MiB",
    "415": "The body is not application/json",
    "429": "Too many writes: wait Retry-After seconds",
}
NAMED_RESPONSES = {
    "DEFAULT_ERROR": "Any other error",
    "UNPROCESSABLE_ENTITY": "Invalid fields: details names each one",
}
WRITES = frozenset({"post", "put", "patch", "delete"})


def _error(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": ERROR_SCHEMA}}}


class HouseRules(BasePlugin):
    """An apispec plugin: what every operation of this API answers, whatever its view says."""

    def operation_helper(
        self, path: str | None = None, operations: dict[str, Any] | None = None, **_: Any
    ) -> None:
        for method, operation in (operations or {}).items():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            responses = {str(status): answer for status, answer in operation["responses"].items()}
            wanted = []
            if "requestBody" in operation:
                wanted += ["400", "413", "415"]
            if any("bearerAuth" in requirement for requirement in operation.get("security", [])):
                wanted.append("401")
            if method in WRITES:
                wanted.append("429")
            for status in wanted:
                responses.setdefault(status, _error(GENERIC_ERRORS[status]))
            for status, answer in list(responses.items()):
                if isinstance(answer, str):  # a named response: inline, to add headers
                    answer = _error(NAMED_RESPONSES.get(answer, answer))
                headers = {**answer.get("headers", {}), **REQUEST_ID}
                if status == "429":
                    headers.update({**RETRY_AFTER, **RATE_LIMIT})
                if status == "401":
                    headers["WWW-Authenticate"] = _header('Bearer, or Bearer error="invalid_token"')
                responses[status] = {**answer, "headers": headers}
            operation["responses"] = responses
