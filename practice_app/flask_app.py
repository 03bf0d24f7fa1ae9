"""The app's Flask class: 204 answers to OPTIONS, problem ids in URLs, and orjson."""

from __future__ import annotations

from typing import Any

from flask import Flask, Response
from werkzeug.routing import BaseConverter

from . import services
from .json_provider import OrjsonProvider


class ProblemIdConverter(BaseConverter):
    """``<problem_id:...>``: one path segment; an int when it names an id, else the text.

    ``/api/problems/037`` routes to problem 37, whose canonical URL is
    ``/api/problems/37`` (the cache redirects there); a segment that cannot be
    an id (letters, zero, more than the database holds) reaches the view as
    text, which answers "Problem not found".
    """

    part_isolating = True

    def to_python(self, value: str) -> int | str:
        problem_id = services.parse_problem_id(value)
        return value if problem_id is None else problem_id

    def to_url(self, value: Any) -> str:
        return super().to_url(str(value))


class PracticeFlask(Flask):
    """Flask with two changes a Next.js user expects, and a faster JSON.

    - ``OPTIONS`` answers 204 No Content with ``Allow``, not 200 with an empty body.
    - ``<problem_id:...>`` URLs take a problem's id (:class:`ProblemIdConverter`).

    And its JSON is orjson's (:class:`OrjsonProvider`). (The cache's views
    are run by the ``caching`` extension, bound in ``create_app``.)
    """

    json_provider_class = OrjsonProvider

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.url_map.converters["problem_id"] = ProblemIdConverter

    def make_default_options_response(self) -> Response:
        response = super().make_default_options_response()
        response.status_code = 204
        return response
