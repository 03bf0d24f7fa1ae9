"""What the API sends, what its query strings take, and the revalidation call's body.

The problem's bodies are in ``rules``, shared with the forms and the CLI.
"""

from __future__ import annotations

from datetime import UTC
from typing import Any

from marshmallow import Schema, fields, validate

from ..models import DIFFICULTIES, TIMESTAMP
from .parsing import BAD_REQUEST

NO_NUL = r"^[^\u0000]*$"
# What ``str.strip()`` removes (``str.isspace``), spelled out: ``\s`` differs
# between Python and ECMA regular expressions (Python's has \x1c-\x1f and
# \x85, ECMA's has \ufeff), so the document names the very characters the
# server treats as blank: \t-\r is tab, line feed, \v, \f and carriage
# return; \x1c-\x20 the four information separators and the space.
PYTHON_SPACES = r"\t-\r\x1c-\x20\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"


class Timestamp(fields.Field):
    """A UTC time as ISO 8601 with ``Z`` and whole seconds (documented as date-time)."""

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> str | None:
        return None if value is None else value.astimezone(UTC).strftime(TIMESTAMP)


class _TagOut(Schema):
    tag = fields.String()


class _AuthorOut(Schema):
    name = fields.String()


class ProblemOut(Schema):
    """A problem as the API shows it (every field is always there: ``required`` for clients).

    The examples are the first sample problem's (``flask seed``).
    """

    id = fields.Integer(required=True, metadata={"example": 1})
    name = fields.String(required=True, metadata={"example": "Two Sum"})
    difficulty = fields.String(
        required=True, metadata={"enum": list(DIFFICULTIES), "example": "easy"}
    )
    tags = fields.Pluck(
        _TagOut,
        "tag",
        many=True,
        attribute="tag_rows",
        required=True,
        metadata={"example": ["arrays", "hashing"]},
    )
    statement = fields.String(
        required=True,
        metadata={
            "description": "Markdown.",
            "example": "You are given an integer array `nums` and an integer `target`. Find "
            "two **different** positions `i` and `j` such that `nums[i] + nums[j] == target`.",
        },
    )
    author = fields.Pluck(
        _AuthorOut,
        "name",
        required=True,
        metadata={"description": "Its user's name.", "example": "curator"},
    )
    created_at = Timestamp(required=True, metadata={"example": "2026-11-24T09:00:00Z"})
    updated_at = Timestamp(required=True, metadata={"example": "2026-11-24T09:00:00Z"})


class SearchArgs(Schema):
    """The query string of GET /api/search."""

    q = fields.String(
        required=True,
        validate=validate.Regexp(r"[\s\S]*\S", error="Query parameter required"),
        metadata={
            "description": "Part of the name, in any case. Missing or blank, or with a NUL: 400.",
            # What the document promises: not blank, and no NUL (services refuse it).
            "pattern": rf"^[^\x00]*[^\x00{PYTHON_SPACES}][^\x00]*$",
            "example": "tree",
            BAD_REQUEST: "Query parameter required",
        },
    )
    difficulty = fields.String(validate=validate.OneOf(DIFFICULTIES))
    tag = fields.String(
        metadata={"description": "With a NUL: 400.", "pattern": NO_NUL, "example": "dfs"}
    )
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))
    offset = fields.Integer(load_default=0, validate=validate.Range(min=0, max=2**31))


class UserOut(Schema):
    name = fields.String(required=True, metadata={"example": "ada"})
    admin = fields.Boolean(attribute="is_admin", required=True, metadata={"example": False})


class WhoAmIOut(Schema):
    user = fields.Nested(
        UserOut,
        allow_none=True,
        required=True,
        metadata={"description": "The caller's user; null when anonymous."},
    )
    userAgent = fields.String(allow_none=True, required=True, metadata={"example": "curl/8.5.0"})


class StatsOut(Schema):
    total = fields.Integer(required=True, metadata={"example": 36})
    by_difficulty = fields.Dict(
        keys=fields.String(),
        values=fields.Integer(),
        required=True,
        metadata={"example": {"easy": 12, "medium": 12, "hard": 12}},
    )
    generated_at = fields.String(required=True, metadata={"example": "2026-11-25T09:00:00.123Z"})


class ClockOut(Schema):
    now = fields.String(required=True, metadata={"example": "2026-11-25T09:00:00.123Z"})


class RevalidateIn(Schema):
    """The body of POST /api/revalidate: at least one path or tag."""

    paths = fields.List(
        fields.String(validate=validate.Length(min=1, max=2000)),
        load_default=list,
        validate=validate.Length(max=100),
        metadata={
            "description": "Canonical paths of cached views, spelt as the app builds them.",
            "example": ["/api/problems", "/api/problems/7"],
        },
    )
    tags = fields.List(
        fields.String(validate=validate.Length(min=1, max=64)),
        load_default=list,
        validate=validate.Length(max=100),
        metadata={"description": "Tags that views declare.", "example": ["problems"]},
    )


class _Revalidated(Schema):
    paths = fields.List(
        fields.String(),
        required=True,
        metadata={
            "description": "Canonical paths.",
            "example": ["/api/problems", "/api/problems/1"],
        },
    )
    tags = fields.List(fields.String(), required=True, metadata={"example": ["problems"]})


class RevalidateOut(Schema):
    revalidated = fields.Nested(_Revalidated, required=True)
