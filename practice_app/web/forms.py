"""The HTML forms. They check shape (a field is there, a choice is one of the
choices); the rules of a problem or an account are checked by ``services``."""

from __future__ import annotations

from typing import Any

from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, PasswordField, SelectField, StringField
from wtforms import TextAreaField as _TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, EqualTo, Length, Optional

from ..models import DIFFICULTIES
from ..rules import NAME_MAX, PASSWORD_MAX, PASSWORD_MIN, STATEMENT_MAX, TAGS_MAX


class TextAreaField(_TextAreaField):
    """A textarea whose value has the line endings a browser sends turned into ``\\n``."""

    def process_formdata(self, valuelist: list[Any]) -> None:
        super().process_formdata(
            [
                value.replace("\r\n", "\n").replace("\r", "\n") if isinstance(value, str) else value
                for value in valuelist
            ]
        )


def split_tags(raw: str | None) -> list[str]:
    """Turn the comma-separated tags input into a list, blanks dropped."""
    return [part.strip() for part in (raw or "").split(",") if part.strip()]


def new_password(label: str, missing: str) -> PasswordField:
    """A new password's field (sign-up, change): named ``password``, as the rules name it."""
    return PasswordField(
        label,
        validators=[DataRequired(missing)],
        description=f"At least {PASSWORD_MIN} characters.",
        render_kw={"autocomplete": "new-password", "maxlength": PASSWORD_MAX},
    )


def password_again(label: str) -> PasswordField:
    """The new password typed again: it must equal ``password``."""
    return PasswordField(
        label,
        validators=[EqualTo("password", "The two passwords differ.")],
        render_kw={"autocomplete": "new-password"},
    )


class ProblemForm(FlaskForm):
    """Create or edit a problem; tags are one comma-separated text input."""

    name = StringField(
        "Name",
        validators=[DataRequired("Enter a name.")],
        render_kw={"maxlength": NAME_MAX, "autocomplete": "off"},
    )
    difficulty = SelectField(
        "Difficulty",
        choices=[SelectChoice(level, level.capitalize()) for level in DIFFICULTIES],
        default="medium",
    )
    tags = StringField(
        "Tags",
        description=f"Separated by commas, at most {TAGS_MAX}: a-z, 0-9 and '-'.",
        render_kw={"autocomplete": "off", "spellcheck": "false"},
    )
    statement = TextAreaField(
        "Statement",
        description=(
            "Markdown: **bold**, *italic*, `code`, headings, lists, tables, code blocks, "
            "links (http, https, mailto) and images. HTML tags are shown as text, never run."
        ),
        render_kw={"rows": 14, "maxlength": STATEMENT_MAX},
    )

    def fields(self) -> dict[str, Any]:
        """The values as the problem rules take them (``services.load_problem_fields``)."""
        return {
            "name": self.name.data or "",
            "difficulty": self.difficulty.data,
            "tags": split_tags(self.tags.data),
            "statement": self.statement.data or "",
        }


class LoginForm(FlaskForm):
    name = StringField(
        "Name",
        validators=[DataRequired("Enter your name.")],
        render_kw={"autocomplete": "username", "autocapitalize": "none"},
    )
    password = PasswordField(
        "Password",
        validators=[DataRequired("Enter your password.")],
        render_kw={"autocomplete": "current-password"},
    )
    remember = BooleanField("Keep me signed in on this device")
    next = HiddenField()


class RegisterForm(FlaskForm):
    name = StringField(
        "Name",
        validators=[DataRequired("Choose a name.")],
        description="2 to 40 characters: letters, digits, '.', '_' or '-'.",
        render_kw={"autocomplete": "username", "autocapitalize": "none", "maxlength": 40},
    )
    password = new_password("Password", "Choose a password.")
    confirm = password_again("Password again")
    next = HiddenField()


class TokenForm(FlaskForm):
    label = StringField(
        "Label",
        validators=[Optional(), Length(max=80, message="At most 80 characters.")],
        description="What the token is for, e.g. “laptop script”.",
        render_kw={"maxlength": 80, "autocomplete": "off"},
    )


class PasswordForm(FlaskForm):
    """Change the signed-in user's password: the current one, and the new one twice.

    The new one's field is named as sign-up's (``password``), so the rules'
    messages (``services.load_password``) go beside it.
    """

    current_password = PasswordField(
        "Current password",
        validators=[DataRequired("Enter your current password.")],
        render_kw={"autocomplete": "current-password"},
    )
    password = new_password("New password", "Choose a new password.")
    confirm = password_again("New password again")
