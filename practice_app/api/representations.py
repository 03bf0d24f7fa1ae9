"""A problem's answer as bytes, its ETag, and the API's conditional and idempotent writes.

A GET of ``/api/problems/ID`` (stored by the cache), the 200 or 201 of a
write, and a replayed create all send the same bytes for the same state, so
one ``ETag`` (``caching.body_etag``) names that state everywhere, and
``If-Match`` compares against it.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from typing import Any, TypeVar, cast

from flask import Response, current_app, request, url_for
from werkzeug.http import parse_etags, quote_etag

from .. import caching, services
from ..caching.compression import base_etag
from ..models import Problem
from .schemas import ProblemOut

F = TypeVar("F", bound=Callable[..., Any])

_problem_out = ProblemOut()


def problem_body(problem: Problem) -> bytes:
    """The body the API answers for ``problem``: what flask-smorest's ``jsonify`` makes."""
    response = cast(Response, current_app.json.response(_problem_out.dump(problem)))
    return response.get_data()


def problem_etag(problem: Problem) -> str:
    return caching.body_etag(problem_body(problem))


def if_match() -> services.Precondition | None:
    """The request's ``If-Match`` as a condition on the problem's state (None without one).

    ``*`` asks only that the problem exists (a 404 otherwise, as without
    the header); ETags compare strongly, as RFC 9110 says for ``If-Match``,
    and the ETag of any encoding of the state (``"abc-br"``) names that state.
    """
    header = request.headers.get("If-Match")
    if header is None:
        return None
    etags = parse_etags(header)
    if etags.star_tag:
        return lambda _problem: True
    named = {base_etag(quote_etag(tag)) for tag in etags.as_set() if tag}
    return lambda problem: problem_etag(problem) in named


def sends_etag(view: F) -> F:
    """Give a 200 or 201 of the view the ``ETag`` of its body (the state it shows)."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        response = view(*args, **kwargs)
        if isinstance(response, Response) and response.status_code in (200, 201):
            response.headers["ETag"] = caching.body_etag(response.get_data())
        return response

    return wrapper  # type: ignore[return-value]


def created_answer(problem: Problem) -> services.Answer:
    """The 201 of a create, as it is kept for ``Idempotency-Key`` replays."""
    location = url_for("api.problem_detail", problem_id=problem.id)
    return services.Answer(201, location, problem_body(problem))


def create_once(user: Any, token_id: int, key: str, fields: dict[str, Any]) -> Response:
    """Create a problem for a POST carrying ``Idempotency-Key``, or replay the first answer."""
    fingerprint = services.idempotency_fingerprint(json.loads(request.get_data(cache=True)))
    answer, replayed = services.create_problem_once(
        user,
        token_id,
        key,
        fingerprint,
        fields,
        created_answer,
        keep_seconds=int(current_app.config["IDEMPOTENCY_KEY_SECONDS"]),
    )
    response = Response(answer.body, status=answer.status, mimetype="application/json")
    response.headers["Location"] = answer.location
    response.headers["Idempotent-Replayed"] = "true" if replayed else "false"
    return response
