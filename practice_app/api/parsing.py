"""How the API reads request bodies: strict JSON objects, errors in the API's shape."""

from __future__ import annotations

import json
from typing import Any, NoReturn

from flask import Request
from marshmallow import Schema, ValidationError
from webargs.flaskparser import FlaskParser

from ..errors import FieldErrors, MalformedRequest, UnsupportedBody
from ..rules import flatten_messages

# Field metadata: a field carrying this key answers 400 with its value as the
# message when it is missing or invalid, instead of the 422 with details.
BAD_REQUEST = "bad_request"


class StrictJsonParser(FlaskParser):
    """webargs' Flask parser, stricter about bodies and speaking the API's errors.

    A body that is not ``application/json`` is a 415, one that is not JSON or
    not a JSON object is a 400 (before any field is looked at), and invalid
    fields are a 422 with ``details``. Bodies over ``MAX_CONTENT_LENGTH`` are
    refused with 413 by Werkzeug as they are read.
    """

    def load_json(self, req: Request, schema: Schema) -> Any:
        if not req.is_json:  # application/json or application/*+json
            raise UnsupportedBody("The request body must be application/json.")
        try:
            data = json.loads(req.get_data(cache=True))
        except (ValueError, RecursionError) as exc:
            raise MalformedRequest("The request body is not valid JSON.") from exc
        if not isinstance(data, dict):
            raise MalformedRequest("The request body must be a JSON object.")
        return data

    def handle_error(
        self,
        error: ValidationError,
        req: Request,
        schema: Schema,
        *,
        error_status_code: int | None,
        error_headers: Any,
    ) -> NoReturn:
        messages = error.messages
        for location in messages.values() if isinstance(messages, dict) else ():
            for name in location if isinstance(location, dict) else ():
                field = schema.fields.get(str(name))
                if field is not None and BAD_REQUEST in field.metadata:
                    raise MalformedRequest(field.metadata[BAD_REQUEST])
        if isinstance(messages, dict) and len(messages) == 1:
            messages = next(iter(messages.values()))  # drop the location ("json", "query")
        raise FieldErrors(flatten_messages(messages))
