"""What the pages and form actions share: safe redirects, the signed-in user, errors by field."""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import Any, TypeVar, cast
from urllib.parse import urlsplit

from flask import flash, redirect, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm

from ..models import User

F = TypeVar("F", bound=Callable[..., Any])


def safe_next(target: str | None) -> str | None:
    """Return ``target`` when it is a path on this site, else None (no open redirects).

    Refused: absolute URLs (``https://evil``), scheme-relative ones (``//evil``),
    backslashes (browsers read ``/\\evil`` as ``//evil``) and control characters.
    """
    if not target or len(target) > 2000 or not target.startswith("/"):
        return None
    if target.startswith("//") or "\\" in target:
        return None
    if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return None
    return target


def next_or_home(target: str | None) -> str:
    return safe_next(target) or url_for("web.problem_list")


def return_path() -> str | None:
    """Where to come back after signing in: this page, or for a POST the page it came from."""
    if request.method in ("GET", "HEAD"):
        return safe_next(request.full_path.rstrip("?"))
    referrer = urlsplit(request.referrer or "")
    if referrer.netloc != request.host:
        return None
    return safe_next(referrer.path + (f"?{referrer.query}" if referrer.query else ""))


def signin_required(view: F) -> F:
    """Send a visitor who is not signed in to the sign-in page, to come back after."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if not current_user.is_authenticated:
            flash("Sign in to continue.", "info")
            return redirect(url_for("web.login", next=return_path()), 303)
        return view(*args, **kwargs)

    return cast(F, wrapper)


def signed_in_user() -> User:
    """The signed-in user (only under ``signin_required``)."""
    return cast(User, current_user._get_current_object())


def user_or_none() -> User | None:
    """The signed-in user, or None for a visitor."""
    return signed_in_user() if current_user.is_authenticated else None


def attach_errors(
    form: FlaskForm, details: Mapping[str, list[str]], *, keep_first: bool = False
) -> None:
    """Put each rule's message beside its field (or at the top when no field has its name).

    ``keep_first`` leaves a field that the form already found wrong with its
    own message, rather than adding the rule's wording of the same mistake.
    """
    for name, messages in details.items():
        try:
            field = form[name]
        except KeyError:  # no field of that name: the message goes at the top
            field = None
        if field is not None and keep_first and field.errors:
            continue
        target: list[str] = field.errors if field is not None else form.form_errors
        for message in messages:
            if message not in target:
                target.append(message)


def int_arg(name: str, default: int, low: int, high: int) -> int:
    """A whole number from the query string, clamped; ``default`` when it is not one."""
    raw = request.args.get(name, "")
    if not raw.isascii() or not raw.isdigit():
        return default
    return max(low, min(high, int(raw)))
