"""The app's Flask class: Flask, with GET views dispatched through ``caching``."""

from __future__ import annotations

from typing import Any

from flask import Flask, Response

from . import caching


class PracticeFlask(Flask):
    """Flask with two changes a Next.js user expects.

    - Views run through :func:`caching.dispatch`, which applies their cache
      declaration and observes whether they read the request
      (:class:`caching.TrackingRequest`).
    - ``OPTIONS`` answers 204 No Content with ``Allow``, not 200 with an empty body.
    """

    request_class = caching.TrackingRequest

    def dispatch_request(self) -> Any:
        run_view = super().dispatch_request
        return caching.dispatch(self, run_view)

    def make_default_options_response(self) -> Response:
        response = super().make_default_options_response()
        response.status_code = 204
        return response
