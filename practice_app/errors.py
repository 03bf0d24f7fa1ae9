"""Domain errors, and the one HTTP error handler: JSON under /api/, HTML elsewhere."""

from __future__ import annotations

import logging

from flask import Flask, Response, jsonify, render_template, request
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
    """A rule of the application refused a request; ``status`` is its HTTP answer."""

    status = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class BadRequest(DomainError):
    status = 400


class UnsupportedMediaType(DomainError):
    status = 415


class NotFound(DomainError):
    status = 404


class Forbidden(DomainError):
    status = 403


class PreconditionFailed(DomainError):
    """An ``If-Match`` that the resource's current state does not match."""

    status = 412


class Unauthorized(DomainError):
    """No valid credentials; ``challenge`` is the ``WWW-Authenticate`` value."""

    status = 401

    def __init__(self, message: str, challenge: str = "Bearer") -> None:
        super().__init__(message)
        self.challenge = challenge


class FieldErrors(DomainError):
    """Invalid fields: ``details`` maps each field to its messages."""

    status = 422

    def __init__(self, details: dict[str, list[str]], message: str | None = None) -> None:
        super().__init__(message or "The request has invalid fields.")
        self.details = details


class Conflict(FieldErrors):
    """A value that must be unique is taken; it belongs to ``field``."""

    status = 409

    def __init__(self, field: str, message: str) -> None:
        super().__init__({field: [message]}, message)


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


def wants_json() -> bool:
    """Tell whether the error is for a program (under /api/) rather than a person."""
    return request.path == "/api" or request.path.startswith("/api/")


def render_error(
    status: int,
    message: str,
    details: dict[str, list[str]] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    """Render an error as JSON for the API and as a page for people."""
    if wants_json():
        body: dict[str, object] = {"error": message}
        if details is not None:
            body["details"] = details
        response = jsonify(body)
    else:
        response = Response(_error_page(status, message, details), mimetype="text/html")
    response.status_code = status
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def _error_page(status: int, message: str, details: dict[str, list[str]] | None) -> str:
    try:
        return render_template("errors/error.html", status=status, message=message, details=details)
    except Exception:
        # The layout reads the signed-in user; with the database down that fails
        # too, and the page must still say what happened.
        log.exception("rendering the %s page failed", status)
        return (
            f"<!doctype html><html lang=en><meta charset=utf-8><title>{status}</title>"
            f"<h1>{status}</h1><p>{escape(message)}</p></html>"
        )


def handle_domain_error(error: DomainError) -> Response:
    headers = {"WWW-Authenticate": error.challenge} if isinstance(error, Unauthorized) else None
    details = error.details if isinstance(error, FieldErrors) else None
    return render_error(error.status, error.message, details, headers)


def handle_http_exception(error: HTTPException) -> Response:
    status = error.code or 500
    if isinstance(error, InternalServerError):
        # Flask has logged the original exception with its traceback already.
        return render_error(500, MESSAGES[500])
    if isinstance(error, CSRFError) and not wants_json():
        return render_error(400, CSRF_EXPIRED)
    headers = {}
    for name, value in error.get_headers():
        if name.lower() in ("allow", "www-authenticate", "retry-after"):
            headers[name] = value
    return render_error(status, MESSAGES.get(status) or error.name, None, headers)


def register_error_handlers(app: Flask) -> None:
    """Install the app's one error handler (for every HTTP error and domain error)."""
    app.register_error_handler(DomainError, handle_domain_error)
    app.register_error_handler(HTTPException, handle_http_exception)
