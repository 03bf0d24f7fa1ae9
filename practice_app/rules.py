"""The rules of the resources, written once as marshmallow schemas.

The JSON API validates request bodies with these schemas (and flask-smorest
documents them in the OpenAPI file); the HTML forms and the CLI go through
``services``, which loads the same schemas. So a rule (a length, the tag
alphabet, a default) holds the same way whoever writes.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
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
# What ends a line, besides the control characters: a single line refuses these by name.
_LINE_BREAKS = frozenset("\t\r\n\u2028\u2029")
TEXT_PATTERN = r"^[^\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]*$"
_LINE = r"[^\u0000-\u001f\u007f-\u009f\u2028\u2029]"
SINGLE_LINE_PATTERN = rf"^{_LINE}*[^\s\u0000-\u001f\u007f-\u009f\u2028\u2029]{_LINE}*$"


def _class_ranges(points: Iterable[int]) -> str:
    """Code points as the ranges of a regex class, runs merged ("\\u0000-\\u001f\\u00ad...")."""
    spans: list[tuple[int, int]] = []
    for point in sorted(set(points)):
        if spans and spans[-1][1] == point - 1:
            spans[-1] = (spans[-1][0], point)
        else:
            spans.append((point, point))
    return "".join(f"\\u{a:04x}" if a == b else f"\\u{a:04x}-\\u{b:04x}" for a, b in spans)


def is_noncharacter(ch: str) -> bool:
    """Whether ``ch`` is one of Unicode's 66 noncharacters: U+FDD0..U+FDEF, U+xFFFE and U+xFFFF."""
    point = ord(ch)
    return 0xFDD0 <= point <= 0xFDEF or point & 0xFFFE == 0xFFFE


# A single line without controls, format characters, line or paragraph
# separators or noncharacters, for names (the BMP's are named; the few astral
# ones, such as language tags and U+1FFFE, are refused all the same). Whether a
# name shows something depends on NFKC, which no pattern can state: the
# description says it in words.
_HIDDEN = _class_ranges(
    point
    for point in range(0x10000)
    if unicodedata.category(chr(point)) in ("Cc", "Cf", "Zl", "Zp") or is_noncharacter(chr(point))
)
_VISIBLE_LINE = rf"[^{_HIDDEN}]"
VISIBLE_LINE_PATTERN = rf"^{_VISIBLE_LINE}*[^\s{_HIDDEN}]{_VISIBLE_LINE}*$"


# Characters that show nothing and that Unicode's NFKC_Casefold drops besides
# the format characters (Cf): the combining grapheme joiner, variation
# selectors and the Hangul fillers.
_IGNORABLE = frozenset(
    [
        0x034F,
        0x115F,
        0x1160,
        0x3164,
        0xFFA0,
        *range(0x180B, 0x1810),
        *range(0xFE00, 0xFE10),
        *range(0xE0100, 0xE01F0),
    ]
)


def _visible(text: str) -> str:
    return "".join(
        ch for ch in text if unicodedata.category(ch) != "Cf" and ord(ch) not in _IGNORABLE
    )


# What shows nothing on its own, after NFKC: spaces and separators, marks
# (they combine with what comes before), controls and format characters,
# _IGNORABLE's fillers and selectors, and the blank braille pattern. Unassigned code points are
# not among them: they may be a newer Unicode's letters or emoji.
_BLANK_CATEGORIES = frozenset(["Zs", "Zl", "Zp", "Mn", "Mc", "Me", "Cc", "Cf"])
_BRAILLE_BLANK = 0x2800


def shows_something(text: str) -> bool:
    """Whether ``text`` holds, after NFKC, a character that is not blank, a filler or a mark."""
    return any(
        not ch.isspace()
        and unicodedata.category(ch) not in _BLANK_CATEGORIES
        and ord(ch) not in _IGNORABLE
        and ord(ch) != _BRAILLE_BLANK
        for ch in unicodedata.normalize("NFKC", text)
    )


def name_key(name: str) -> str:
    """Return the form of a name that uniqueness and search compare: NFKC, casefolded.

    Unicode's NFKC_Casefold, closely: compatibility forms fold into their plain
    letters (full-width "\uff34\uff57\uff4f" and "\u210c" are "two" and "h"), case is
    folded ("ß" is "ss"), and characters that show nothing are dropped, so
    "Two\u200bSum" and "TwoSum" are one name. Letters of other scripts that
    merely look alike (a Cyrillic "\u0422") stay apart: that needs Unicode's
    confusables, not a case fold.
    It is applied twice, because a case fold can undo a normalisation.
    """
    key = name
    for _ in range(2):
        key = unicodedata.normalize("NFKC", _visible(key).casefold())
    return key


def invisible_characters(text: str) -> list[str]:
    """The format characters (Unicode's Cf: zero-width, bidi controls...) in ``text``, as U+XXXX."""
    found = (f"U+{ord(ch):04X}" for ch in text if unicodedata.category(ch) == "Cf")
    return list(dict.fromkeys(found))


def noncharacters(text: str) -> list[str]:
    """The noncharacters (U+FFFE, U+FDD0...) in ``text``, as U+XXXX."""
    return list(dict.fromkeys(f"U+{ord(ch):04X}" for ch in text if is_noncharacter(ch)))


class Text(fields.String):
    """A string that is valid Unicode text: no lone surrogates, no control characters.

    ``single_line`` trims the value and refuses line breaks (the line and
    paragraph separators U+2028 and U+2029 too) and tabs as well.
    ``visible`` refuses format characters (zero-width spaces and joiners, bidi
    controls such as U+202E, U+2060, U+FEFF) and noncharacters (U+FFFE), and a
    value that shows nothing: only blanks, fillers (U+3164, U+2800) or
    combining marks after NFKC. A name shows what it holds.
    """

    def __init__(self, *, single_line: bool = False, visible: bool = False, **kwargs: Any) -> None:
        # The same rule as a JSON Schema pattern, for the OpenAPI document.
        if single_line:
            pattern = VISIBLE_LINE_PATTERN if visible else SINGLE_LINE_PATTERN
        else:
            pattern = TEXT_PATTERN
        kwargs["metadata"] = {"pattern": pattern, **kwargs.get("metadata", {})}
        super().__init__(**kwargs)
        self.single_line = single_line
        self.visible = visible

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        text: str = super()._deserialize(value, attr, data, **kwargs)
        try:
            text.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise ValidationError("Must be valid Unicode text.") from exc
        text = unicodedata.normalize("NFC", text)
        if self.single_line:
            text = text.strip()
            if any(ch in _LINE_BREAKS for ch in text):
                raise ValidationError("Must be a single line.")
        if _CONTROL.search(text):
            raise ValidationError("Must not contain control characters.")
        if self.visible and (hidden := invisible_characters(text)):
            raise ValidationError(
                "Must not contain invisible format characters "
                f"(zero-width or bidi controls): {', '.join(hidden[:5])}."
            )
        if self.visible and (odd := noncharacters(text)):
            raise ValidationError(f"Must not contain noncharacters ({', '.join(odd[:5])}).")
        # An empty value is left to the length rule, which says so.
        if self.visible and text and not shows_something(text):
            raise ValidationError("Must show at least one visible character.")
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
        visible=True,
        required=True,
        validate=validate.Length(min=1, max=NAME_MAX),
        metadata={
            "description": (
                "Trimmed; unique without regard to case or compatibility forms (NFKC casefold). "
                "One line that shows at least one visible character: not only blanks, fillers "
                "(U+3164, U+2800) or combining marks, after NFKC. No control or invisible format "
                "characters (Unicode Cc, Cf), line or paragraph separators (U+2028, U+2029) "
                "or noncharacters (U+FFFE, U+FDD0...)."
            ),
            "example": "Two Sum",
        },
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
