"""Domain errors, and the one HTTP error handler: JSON under /api/, HTML elsewhere."""

from __future__ import annotations

import logging
import math
import time

from flask import Flask, Response, current_app, jsonify, render_template, request
from flask_wtf.csrf import CSRFError
from markupsafe import escape
from marshmallow import Schema, fields
from werkzeug.exceptions import HTTPException, InternalServerError

log = logging.getLogger(__name__)


class ErrorBody(Schema):
    """What every error answers under /api/ (documented in the OpenAPI file)."""

    error = fields.String(required=True, metadata={"description": "One human sentence."})
    details = fields.Dict(
        keys=fields.String(),
        values=fields.List(fields.String()),
        metadata={"description": "On a 422 (and a 409): each field's messages."},
    )


class DomainError(Exception):
    """A rule of the application refused a request; ``status`` is its HTTP answer.

    The names say what went wrong in the application's terms, apart from
    Werkzeug's HTTP exceptions (``ProblemNotFound``, not ``NotFound``), so a
    module that meets both never mistakes one for the other.
    """

    status = 400
    # Each field's messages, when the error is about fields (422, 409).
    details: dict[str, list[str]] | None = None

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class MalformedRequest(DomainError):
    """A request that cannot be read: broken JSON, a body that is not an object, a NUL."""

    status = 400


class UnsupportedBody(DomainError):
    """A body that is not ``application/json``."""

    status = 415


class Missing(DomainError):
    """What the request names does not exist."""

    status = 404


class ProblemNotFound(Missing):
    def __init__(self, message: str = "Problem not found") -> None:
        super().__init__(message)


class TokenNotFound(Missing):
    def __init__(self, message: str = "Token not found") -> None:
        super().__init__(message)


class NotAllowed(DomainError):
    """The caller is known but may not do this (someone else's problem, not an admin)."""

    status = 403


class StateChanged(DomainError):
    """An ``If-Match`` that the resource's current state does not match."""

    status = 412


class NotAuthenticated(DomainError):
    """No valid credentials; ``challenge`` is the ``WWW-Authenticate`` value."""

    status = 401

    def __init__(self, message: str, challenge: str = "Bearer") -> None:
        super().__init__(message)
        self.challenge = challenge


# A 422 lists this many fields at most, each with as many messages at most, and
# names each by this many characters at most: a body of 80,000 unknown fields
# (or one key of a megabyte) is answered in a few hundred bytes, not echoed.
DETAILS_FIELDS_MAX = 20
DETAILS_MESSAGES_MAX = 20
DETAILS_NAME_MAX = 100


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


class FieldErrors(DomainError):
    """Invalid fields: ``details`` maps each field to its messages (the first 20 fields)."""

    status = 422
    details: dict[str, list[str]]

    def __init__(self, details: dict[str, list[str]], message: str | None = None) -> None:
        if len(details) > DETAILS_FIELDS_MAX:
            message = (
                f"The request has {len(details):,} invalid fields; "
                f"the first {DETAILS_FIELDS_MAX} are listed."
            )
        super().__init__(message or "The request has invalid fields.")
        self.details = {
            _short(field, DETAILS_NAME_MAX): [
                _short(m, 1000) for m in messages[:DETAILS_MESSAGES_MAX]
            ]
            for field, messages in list(details.items())[:DETAILS_FIELDS_MAX]
        }


class ValueTaken(DomainError):
    """A value that must be unique is taken (409); it belongs to ``field``.

    Not a kind of FieldErrors: the fields are valid, the state refuses them,
    so ``except FieldErrors`` does not catch it. It names its field in
    ``details`` all the same, so a form can put it beside that field.
    """

    status = 409
    details: dict[str, list[str]]

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.details = {field: [message]}


# One human sentence for each status that the code does not word itself.
MESSAGES = {
    400: "The request could not be understood.",
    401: "Authentication is required.",
    403: "You are not allowed to do that.",
    404: "Not found.",
    405: "Method not allowed.",
    409: "The request conflicts with the current state.",
    412: "The resource is no longer in the state the request expects.",
    413: "The request body is larger than 1 MiB.",
    415: "The request body must be application/json.",
    422: "The request has invalid fields.",
    429: "Too many requests.",
    500: "Something went wrong on our side.",
}

CSRF_EXPIRED = (
    "This form has expired or was not sent by this site, so nothing was saved. "
    "Go back, reload the page and try again."
)
# The pages' headings where the status's own name would not help a person.
CSRF_HEADING = "Form expired"
# A page's 405: the form actions without a page of their own, and how to do what they do.
HOW_TO = {
    "web.logout": "To sign out, use the Sign out button at the top of every page.",
    "web.problem_delete": "To delete a problem, use the Delete button on the problem's page.",
    "web.token_revoke": "To revoke a token, use its Revoke button on the API tokens page.",
}


def wants_json() -> bool:
    """Tell whether the error is for a program (under /api/) rather than a person."""
    return request.path == "/api" or request.path.startswith("/api/")


def render_error(
    status: int,
    message: str,
    details: dict[str, list[str]] | None = None,
    headers: dict[str, str] | None = None,
    heading: str | None = None,
    retry_after: int | None = None,
) -> Response:
    """Render an error as JSON for the API and as a page for people.

    The page may say more: a ``heading`` of its own, the seconds to wait
    (``retry_after``, as Flask-Limiter's ``Retry-After`` says), the way back.
    """
    if wants_json():
        body: dict[str, object] = {"error": message}
        if details is not None:
            body["details"] = details
        response = jsonify(body)
    else:
        page = _error_page(status, _sentence(message), details, heading, retry_after)
        response = Response(page, mimetype="text/html")
    response.status_code = status
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def _sentence(message: str) -> str:
    """A page says a whole sentence: the API's "Problem not found" is "Problem not found." there."""
    return message if message.endswith((".", "!", "?")) else message + "."


def _back_link() -> str | None:
    """The page the person came from, when it is on this site: the way back to their form."""
    referrer = request.referrer or ""
    site = request.host_url
    if referrer.startswith(site):
        return "/" + referrer[len(site) :]
    return None


def _error_page(
    status: int,
    message: str,
    details: dict[str, list[str]] | None,
    heading: str | None,
    retry_after: int | None,
) -> str:
    try:
        return render_template(
            "errors/error.html",
            status=status,
            message=message,
            details=details,
            heading=heading,
            retry_after=retry_after,
            back=_back_link(),
        )
    except Exception:
        # The layout reads the signed-in user; with the database down that fails
        # too, and the page must still say what happened.
        log.exception("rendering the %s page failed", status)
        return (
            f"<!doctype html><html lang=en><meta charset=utf-8><title>{status}</title>"
            f"<h1>{status}</h1><p>{escape(message)}</p></html>"
        )


def handle_domain_error(error: DomainError) -> Response:
    headers = {"WWW-Authenticate": error.challenge} if isinstance(error, NotAuthenticated) else None
    return render_error(error.status, error.message, error.details, headers)


def handle_http_exception(error: HTTPException) -> Response:
    status = error.code or 500
    if isinstance(error, InternalServerError):
        # Flask has logged the original exception with its traceback already.
        return render_error(500, MESSAGES[500])
    if isinstance(error, CSRFError) and not wants_json():
        return render_error(400, CSRF_EXPIRED, heading=CSRF_HEADING)
    headers = {}
    for name, value in error.get_headers():
        if name.lower() in ("allow", "www-authenticate", "retry-after"):
            headers[name] = value
    message = MESSAGES.get(status) or error.name
    if status == 405 and not wants_json():
        message = _how_to() or "This address takes a form's POST; open the page that has the form."
    wait = _seconds_to_wait() if status == 429 else None
    return render_error(status, message, None, headers, retry_after=wait)


def _seconds_to_wait() -> int:
    """Seconds until the limit that refused this request lets the client in again.

    Rounded up: Flask-Limiter's ``Retry-After``, computed a moment later and
    truncated, says the same or one less.
    """
    from .extensions import limiter  # extensions imports this module

    current = limiter.current_limit
    return max(1, math.ceil(current.reset_at - time.time())) if current is not None else 60


def _how_to() -> str | None:
    """For a page's 405: how a person does what the form action at this address does."""
    adapter = current_app.url_map.bind_to_environ(request.environ)
    try:
        endpoint, _values = adapter.match(method="POST")
    except HTTPException:
        return None
    return HOW_TO.get(str(endpoint))


def register_error_handlers(app: Flask) -> None:
    """Install the app's one error handler (for every HTTP error and domain error)."""
    app.register_error_handler(DomainError, handle_domain_error)
    app.register_error_handler(HTTPException, handle_http_exception)
