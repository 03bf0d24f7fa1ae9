"""What the OpenAPI document says beyond the schemas: headers, tags, and the house rules.

flask-smorest writes the document from the views' decorators and the
marshmallow schemas. This module holds the pieces the views name (response
headers, request headers, tags, the ``problem_id`` parameter), the
document's introduction (:func:`description`, the bearer scheme's
:data:`BEARER_DESCRIPTION`), and a small apispec plugin, :class:`HouseRules`,
that states what holds for every operation, so no view can forget it: each
response carries ``X-Request-ID``; an operation that takes a body may answer
400, 413 and 415; a write may answer 429 with ``Retry-After``; an operation
that takes a token may answer 401. Every error answer is the ``ErrorBody``
schema. The plugin also gives each request body an example that works when
sent (``/api/docs`` prefills "Try it out" with it).
"""

from __future__ import annotations

from typing import Any

from apispec import BasePlugin
from werkzeug.routing import BaseConverter

from .. import rules
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
# The search's answer: its page, and where its results came from.
PAGE = {
    "X-Total-Count": _header("How many problems match, in all.", {"type": "integer"}),
    "Link": _header('<URL of the next page>; rel="next", when more remain.'),
    "X-Data-Cache": _header(
        "HIT: the results came from the data cache (kept until a problem changes); "
        "MISS: they were read from the database.",
        {"type": "string", "enum": ["HIT", "MISS"]},
    ),
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

# -- the introduction: info.description and the bearer scheme's (Markdown) ----------------

TOKENS_PAGE = "/account/tokens"
BEARER_DESCRIPTION = (
    f"An API token of your own: sign in, open [API tokens]({TOKENS_PAGE}) (the account "
    "page), give it a label and create it; it is shown once. Paste it here, without "
    "`Bearer`. A token acts as its user: it may create problems, and change or delete "
    "that user's own (an admin's: any).\n\n"
    "Operators can also make one on the server: `flask --app practice_app tokens create NAME`."
)


def description(write_limit: str) -> str:
    """The document's ``info.description``: what holds for every route, in Markdown.

    ``write_limit``: the app's ``API_WRITE_RATE_LIMIT`` (``FLASK_API_WRITE_RATE_LIMIT``).
    """
    return f"""\
The catalogue of practice problems as JSON. Reads need nothing; writes need a token.
Open an operation, press **Try it out**, then **Execute**: each request body is
prefilled with an example that works.

**Tokens.** Writes take `Authorization: Bearer TOKEN`. Signed in, create a token on
the account page, [API tokens]({TOKENS_PAGE}) (it is shown once), then press
**Authorize** below and paste it. Operators can make one with
`flask --app practice_app tokens create NAME`.

**Errors** are JSON: `{{"error": "One sentence.", "details": {{"name": ["..."]}}}}`.
`details` comes with a 422 (and a 409) and names each field at fault; a request that
fails writes nothing.

**Rate limits.** Writes (POST, PUT, PATCH, DELETE) are limited per token, every
route together: `{write_limit}` here. Over it: 429 with `Retry-After`. Each counted
response says `X-RateLimit-Limit`, `X-RateLimit-Remaining` and `X-RateLimit-Reset`.
Reads are not limited.

**ETags.** A stored GET and every write's answer send a strong `ETag`.
`If-None-Match` with it: 304 Not Modified while it is current. `PUT`, `PATCH` and
`DELETE` with `If-Match`: 412 if the problem has changed since (`If-Match: *`: only
if it exists).

**Retries.** A `POST /api/problems` with an `Idempotency-Key` (1-255 visible ASCII
characters) is answered again, byte for byte and with `Idempotent-Replayed: true`,
to the same token with the same body for 24 hours, and creates nothing more. The
same key with another body: 422.

**Caching headers.** A stored GET says `X-Cache: MISS`, `HIT` or `STALE`, with
`Cache-Control: public, no-cache` and `Age`; a dynamic one (search, whoami, the dynamic
clock) is `Cache-Control: private, no-cache, no-store, max-age=0, must-revalidate`.
Search says `X-Data-Cache: HIT` when its results came from the data cache, `MISS` when
they were read. Every response carries `X-Request-ID`.

The whole guide is `docs/api.md` in the repository (the site's documentation).
"""


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

# The names' rule as a pattern is 570 characters of code point ranges (rules.py
# spells out every Cc, Cf, Zl, Zp and noncharacter of the BMP), which nobody
# reads. The document shows a short one instead: the controls, the usual
# invisible characters (zero-width, bidi controls, word joiner, soft hyphen,
# BOM), the separators and the noncharacters, and not blank. It accepts
# everything the long one does (a few rare format characters besides, which
# the server refuses all the same, 422); the field's description states the
# whole rule in words.
NAME_PATTERN = (
    r"^(?!\s*$)[^\x00-\x1f\x7f-\x9f\xad\u200b-\u200f\u2028-\u202e\u2060"
    r"\ufdd0-\ufdef\ufeff\ufffe\uffff]*$"
)
SHORTER_PATTERNS = {rules.VISIBLE_LINE_PATTERN: NAME_PATTERN}


def shorter_pattern(_converter: Any, _field: Any, ret: dict[str, Any], **_: Any) -> dict[str, Any]:
    """Write a field's long pattern as its short form (:data:`SHORTER_PATTERNS`)."""
    short = SHORTER_PATTERNS.get(ret.get("pattern", ""))
    return {"pattern": short} if short is not None else {}


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


# -- examples: what "Try it out" sends, and what it gets back ---------------------------

# A name that none of the 36 sample problems (seed_problems.json) has: sent to a
# seeded app, the example creates a problem (201), not a 409.
NEW_PROBLEM = {
    "name": "Ransom Note",
    "difficulty": "easy",
    "tags": ["hashing", "strings"],
    "statement": (
        "Given two strings `note` and `magazine`, return **true** if `note` can be "
        "built from the letters of `magazine`, each letter used once."
    ),
}
CREATED = {
    "id": 37,
    **NEW_PROBLEM,
    "author": "ada",
    "created_at": "2026-12-07T20:15:00Z",
    "updated_at": "2026-12-07T20:15:00Z",
}
REPLACEMENT = {**NEW_PROBLEM, "difficulty": "medium", "tags": ["hashing", "counting"]}
CHANGE = {"difficulty": "hard", "tags": ["hashing", "strings", "counting"]}
REQUEST_EXAMPLES: dict[str, Any] = {
    "createProblem": NEW_PROBLEM,
    "replaceProblem": REPLACEMENT,
    "updateProblem": CHANGE,
    "revalidate": {"paths": ["/api/problems", "/api/problems/1"], "tags": ["problems"]},
}
RESPONSE_EXAMPLES: dict[tuple[str, str], Any] = {
    ("createProblem", "201"): CREATED,
    ("replaceProblem", "200"): {
        **CREATED,
        **REPLACEMENT,
        "updated_at": "2026-12-07T20:30:00Z",
    },
    ("updateProblem", "200"): {**CREATED, **CHANGE, "updated_at": "2026-12-07T20:45:00Z"},
}
ERROR_EXAMPLE = {
    "error": "The request has invalid fields.",
    "details": {"name": ["Length must be between 1 and 200."]},
}


def _with_example(content: dict[str, Any], example: Any) -> dict[str, Any]:
    """A copy of a request body's or response's ``content``, each media type with ``example``."""
    return {kind: {"example": example, **media} for kind, media in content.items()}


def _add_examples(operation: dict[str, Any], responses: dict[str, Any]) -> None:
    """Give the operation's body, and its answers named in RESPONSE_EXAMPLES, their examples."""
    name = operation.get("operationId", "")
    body = operation.get("requestBody")
    if name in REQUEST_EXAMPLES and body is not None:
        content = _with_example(body.get("content", {}), REQUEST_EXAMPLES[name])
        operation["requestBody"] = {**body, "content": content}
    for status, answer in responses.items():
        if (name, status) in RESPONSE_EXAMPLES and "content" in answer:
            content = _with_example(answer["content"], RESPONSE_EXAMPLES[name, status])
            responses[status] = {**answer, "content": content}


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
            _add_examples(operation, responses)
            operation["responses"] = responses

    def schema_helper(self, name: str, definition: dict[str, Any], **_: Any) -> dict[str, Any]:
        """Give the error body an example (its fields say what they are, not what they hold)."""
        return {"example": ERROR_EXAMPLE} if name == "ErrorBody" else {}
