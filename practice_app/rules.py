"""The rules of the resources, written once as marshmallow schemas.

The JSON API validates request bodies with these schemas (and flask-smorest
documents them in the OpenAPI file); the HTML forms and the CLI go through
``services``, which loads the same schemas. So a rule (a length, the tag
alphabet, a default) holds the same way whoever writes.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from marshmallow import Schema, ValidationError, fields, post_load, validate

from .models import DIFFICULTIES

NAME_MAX = 200
STATEMENT_MAX = 20_000
TAGS_MAX = 10
TAG_RE = re.compile(r"^[a-z0-9-]{1,30}$")
USER_NAME_RE = re.compile(r"^[A-Za-z0-9_.-]{2,40}$")
PASSWORD_MIN = 8
PASSWORD_MAX = 256

# C0 and C1 control characters, except tab, line feed and carriage return.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
TEXT_PATTERN = r"^[^\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]*$"
_LINE = r"[^\u0000-\u001f\u007f-\u009f]"
SINGLE_LINE_PATTERN = rf"^{_LINE}*[^\s\u0000-\u001f\u007f-\u009f]{_LINE}*$"


def name_key(name: str) -> str:
    """Return the form of a name that uniqueness and search compare: NFC, casefolded."""
    return unicodedata.normalize("NFC", unicodedata.normalize("NFC", name).casefold())


class Text(fields.String):
    """A string that is valid Unicode text: no lone surrogates, no control characters.

    ``single_line`` trims the value and refuses line breaks and tabs as well.
    """

    def __init__(self, *, single_line: bool = False, **kwargs: Any) -> None:
        # The same rule as a JSON Schema pattern, for the OpenAPI document.
        pattern = SINGLE_LINE_PATTERN if single_line else TEXT_PATTERN
        kwargs["metadata"] = {"pattern": pattern, **kwargs.get("metadata", {})}
        super().__init__(**kwargs)
        self.single_line = single_line

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        text: str = super()._deserialize(value, attr, data, **kwargs)
        try:
            text.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise ValidationError("Must be valid Unicode text.") from exc
        text = unicodedata.normalize("NFC", text)
        if self.single_line:
            text = text.strip()
            if any(ch in text for ch in "\t\r\n"):
                raise ValidationError("Must be a single line.")
        if _CONTROL.search(text):
            raise ValidationError("Must not contain control characters.")
        return text


class Tag(Text):
    """A tag: lower-cased, 1 to 30 characters of a-z, 0-9 and '-'."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("metadata", {"pattern": r"^\s*[A-Za-z0-9-]{1,30}\s*$"})
        super().__init__(single_line=True, **kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        tag = super()._deserialize(value, attr, data, **kwargs).lower()
        if not TAG_RE.match(tag):
            raise ValidationError("Each tag is 1 to 30 characters of a-z, 0-9 and '-'.")
        return tag


class ProblemInput(Schema):
    """A problem as a client sends it; unknown and server-set fields are refused."""

    name = Text(
        single_line=True,
        required=True,
        validate=validate.Length(min=1, max=NAME_MAX),
        metadata={"description": "Trimmed; unique without regard to case.", "example": "Two Sum"},
    )
    difficulty = fields.String(
        load_default="medium",
        validate=validate.OneOf(DIFFICULTIES),
        metadata={"description": "easy, medium or hard; medium when left out."},
    )
    tags = fields.List(
        Tag(),
        load_default=list,
        validate=validate.Length(max=TAGS_MAX, error="At most {max} tags."),
        metadata={"description": "Lower-cased; repeats dropped; [] when left out."},
    )
    statement = Text(
        load_default="",
        validate=validate.Length(max=STATEMENT_MAX),
        metadata={"description": "Markdown."},
    )

    @post_load
    def _drop_repeated_tags(self, data: dict[str, Any], **_kwargs: Any) -> dict[str, Any]:
        if "tags" in data:
            data["tags"] = list(dict.fromkeys(data["tags"]))
        return data


class UserInput(Schema):
    """A new account: its name and password."""

    name = Text(
        single_line=True,
        required=True,
        validate=validate.Regexp(
            USER_NAME_RE, error="2 to 40 characters: letters, digits, '.', '_' or '-'."
        ),
    )
    password = fields.String(
        required=True,
        validate=validate.Length(
            min=PASSWORD_MIN,
            max=PASSWORD_MAX,
            error="Between {min} and {max} characters.",
        ),
    )


def flatten_messages(messages: Any) -> dict[str, list[str]]:
    """Turn marshmallow's nested messages into ``{"field": ["message", ...]}``."""
    if not isinstance(messages, dict):
        return {"_schema": [str(m) for m in messages]}
    details: dict[str, list[str]] = {}
    for field, value in messages.items():
        if isinstance(value, dict):  # a list field: {index: [messages]}
            flat = [m for sub in value.values() for m in (sub if isinstance(sub, list) else [sub])]
            details[str(field)] = list(dict.fromkeys(str(m) for m in flat))
        else:
            details[str(field)] = [str(m) for m in value]
    return details


class ProblemPatch(ProblemInput):
    """Some fields of a problem (PATCH): each is optional, none takes a default."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("partial", True)
        super().__init__(**kwargs)
