"""The JSON API: Next.js's route handlers, one MethodView per URL.

Each class is a ``route.ts``: its methods are the exported GET, POST, ...;
Flask answers HEAD like GET and OPTIONS with ``Allow``; other methods get 405.
Every GET method declares how it is cached (``caching.cache_view``).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from flask import Response, current_app, g, request, url_for
from flask.views import MethodView
from flask_login import current_user
from flask_smorest import Blueprint

from .. import documents, services
from ..caching import cache_view
from ..errors import ErrorBody
from ..extensions import limiter
from ..models import Problem
from ..rules import ProblemInput, ProblemPatch
from . import openapi as doc
from .auth import (
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    admin_or_signed_webhook,
    token_required,
    token_user,
    write_limit_key,
)
from .parsing import StrictJsonParser
from .representations import create_once, if_match, sends_etag
from .schemas import (
    ClockOut,
    ProblemOut,
    RevalidateIn,
    RevalidateOut,
    SearchArgs,
    StatsOut,
    WhoAmIOut,
)


class ApiBlueprint(Blueprint):
    """flask-smorest's blueprint, reading bodies with the strict parser."""

    ARGUMENTS_PARSER = StrictJsonParser()


bp = ApiBlueprint(
    "api",
    __name__,
    url_prefix="/api",
    description="Practice problems: the route handlers.",
)
# Writes are rate limited per token (FLASK_API_WRITE_RATE_LIMIT), all routes
# together; reads are not.
limiter.shared_limit(
    lambda: current_app.config["API_WRITE_RATE_LIMIT"],
    scope="api-writes",
    key_func=write_limit_key,
    methods=["POST", "PUT", "PATCH", "DELETE"],
)(bp)

BEARER: list[dict[str, list[str]]] = [{"bearerAuth": []}]


def error_response(status: int, description: str) -> Callable[[Any], Any]:
    """Document an error answer of an operation: ``{"error": ...}`` with this status."""
    return bp.alt_response(status, schema=ErrorBody, description=description)


# What each error of a problem's writes means, as the OpenAPI document says it.
WRITE_ERRORS = {
    400: "Malformed JSON, or a body that is not a JSON object",
    401: "No valid token",
    403: "Not its author nor an admin",
    404: "Problem not found",
    409: "A problem with this name exists",
    412: "If-Match: it is no longer in that state",
    413: "The body is over 1 MiB",
    415: "The body is not application/json",
}


def write_errors(*statuses: int) -> Callable[[Any], Any]:
    """Document these statuses of a write (422 comes with its body's schema)."""

    def document(view: Any) -> Any:
        for status in statuses:
            view = error_response(status, WRITE_ERRORS[status])(view)
        return view

    return document


def _problem_location(problem: Problem) -> dict[str, str]:
    return {"Location": url_for("api.problem_detail", problem_id=problem.id)}


def _iso_now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def not_modified(view: Any) -> Any:
    """Document the 304 a stored response answers to an If-None-Match with its ETag."""
    view = bp.doc(parameters=[doc.IF_NONE_MATCH])(view)
    return bp.alt_response(
        304, description="Not Modified: the If-None-Match ETag is current", headers=doc.STORED
    )(view)


@bp.route("/problems", endpoint="problem_list", tags=["problems"])
class ProblemList(MethodView):
    @cache_view("auto", tags=("problems",))
    @bp.doc(operationId="listProblems")
    @bp.response(200, ProblemOut(many=True), headers=doc.STORED)
    @not_modified
    def get(self) -> Any:
        """Every problem, by id (static: cached until a problem changes)."""
        return current_app.json.response(documents.list_documents())

    @bp.doc(operationId="createProblem", security=BEARER, parameters=[doc.IDEMPOTENCY_KEY])
    @sends_etag
    @token_required
    @bp.arguments(ProblemInput())
    @bp.response(201, ProblemOut, headers={**doc.LOCATION, **doc.ETAG, **doc.REPLAYED})
    @error_response(
        400,
        "Malformed JSON, a body that is not an object, or an Idempotency-Key "
        "that is not 1-255 visible ASCII characters",
    )
    @write_errors(401, 409, 413, 415)
    @error_response(422, "Invalid fields, or an Idempotency-Key reused with another body")
    def post(self, fields: dict[str, Any]) -> Any:
        """Add a problem."""
        key = request.headers.get("Idempotency-Key")
        if key is not None:
            return create_once(g.api_user, g.api_token_id, key, fields)
        problem = services.create_problem(g.api_user, fields)
        return problem, 201, _problem_location(problem)


@bp.route("/problems/<problem_id:problem_id>", endpoint="problem_detail", tags=["problems"])
class ProblemDetail(MethodView):
    @cache_view("auto", tags=("problems",))
    @bp.doc(operationId="getProblem")
    @bp.response(200, ProblemOut, headers=doc.STORED)
    @not_modified
    @error_response(404, description="Problem not found")
    def get(self, problem_id: int | str) -> Any:
        """One problem."""
        return services.get_problem(problem_id)

    @bp.doc(operationId="replaceProblem", security=BEARER, parameters=[doc.IF_MATCH])
    @sends_etag
    @token_required
    @bp.arguments(ProblemInput())
    @bp.response(200, ProblemOut, headers=doc.ETAG)
    @write_errors(400, 401, 403, 404, 409, 412, 413, 415)
    def put(self, fields: dict[str, Any], problem_id: int | str) -> Any:
        """Replace a problem: fields left out take their defaults."""
        return services.update_problem(
            g.api_user, problem_id, fields, replace=True, precondition=if_match()
        )

    @bp.doc(operationId="updateProblem", security=BEARER, parameters=[doc.IF_MATCH])
    @sends_etag
    @token_required
    @bp.arguments(ProblemPatch())
    @bp.response(200, ProblemOut, headers=doc.ETAG)
    @write_errors(400, 401, 403, 404, 409, 412, 413, 415)
    def patch(self, fields: dict[str, Any], problem_id: int | str) -> Any:
        """Change the given fields of a problem."""
        return services.update_problem(g.api_user, problem_id, fields, precondition=if_match())

    @bp.doc(operationId="deleteProblem", security=BEARER, parameters=[doc.IF_MATCH])
    @token_required
    @bp.response(204, description="Deleted: no body")
    @write_errors(401, 403, 404, 412)
    def delete(self, problem_id: int | str) -> Any:
        """Remove a problem."""
        services.delete_problem(g.api_user, problem_id, precondition=if_match())
        return Response(status=204)


@bp.route("/search", endpoint="problem_search", tags=["search"])
class ProblemSearch(MethodView):
    @bp.doc(operationId="searchProblems")
    @bp.arguments(SearchArgs(), location="query", as_kwargs=True)
    @bp.response(200, ProblemOut(many=True), headers=doc.PAGE)
    @error_response(400, description="q is missing or blank, or q or tag holds a NUL")
    def get(self, q: str, limit: int, offset: int, **filters: Any) -> Any:
        """Problems whose name contains q, in any case (dynamic: reads the query string).

        Sends ``X-Total-Count``, and ``Link: <...>; rel="next"`` when more remain.
        """
        query = documents.SearchQuery(q, limit=limit, offset=offset, **filters)
        problems, total = documents.search_documents(query)
        response = current_app.json.response(problems)
        response.headers["X-Total-Count"] = str(total)
        if offset + len(problems) < total:
            following = url_for(
                "api.problem_search", q=q, limit=limit, offset=offset + limit, **query.filters()
            )
            response.headers["Link"] = f'<{following}>; rel="next"'
        return response


@bp.route("/whoami", endpoint="whoami", tags=["account"])
class WhoAmI(MethodView):
    @bp.doc(operationId="whoAmI", security=[{}, *BEARER])
    @bp.response(200, WhoAmIOut)
    @error_response(401, description="A token was sent but is wrong or revoked")
    def get(self) -> Any:
        """Who is calling, by bearer token or session cookie (dynamic: reads headers)."""
        user = token_user()
        if user is None and current_user.is_authenticated:
            user = current_user
        return {"user": user, "userAgent": request.headers.get("User-Agent")}


@bp.route("/stats", endpoint="stats", tags=["stats"])
class Stats(MethodView):
    @cache_view(revalidate=300, tags=("problems",))
    @bp.doc(operationId="getStats")
    @bp.response(200, StatsOut, headers=doc.STORED)
    @not_modified
    def get(self) -> Any:
        """Counts of problems (revalidates every 300 s, and after every change)."""
        return {**services.problem_stats(), "generated_at": _iso_now()}


WEBHOOK_HEADERS = [
    {
        "in": "header",
        "name": TIMESTAMP_HEADER,
        "required": False,
        "schema": {"type": "string", "pattern": "^[0-9]{1,12}$"},
        "description": "A signed call without a token: the time of the call, in UNIX seconds.",
    },
    {
        "in": "header",
        "name": SIGNATURE_HEADER,
        "required": False,
        "schema": {"type": "string"},
        "description": (
            "sha256=HEX: the HMAC-SHA256 of TIMESTAMP + '.' + the raw body, "
            "keyed with FLASK_REVALIDATE_SECRET."
        ),
    },
]


@bp.route("/revalidate", endpoint="revalidate", tags=["cache"])
class Revalidate(MethodView):
    @bp.doc(operationId="revalidate", security=[{}, *BEARER], parameters=WEBHOOK_HEADERS)
    @admin_or_signed_webhook
    @bp.arguments(RevalidateIn())
    @bp.response(200, RevalidateOut)
    @error_response(401, description="No admin token, or a bad or late signature")
    @error_response(403, description="The token is not an admin's")
    @error_response(
        422, description="A path that is not the canonical URL of a cached view, or an unknown tag"
    )
    def post(self, body: dict[str, list[str]]) -> Any:
        """Drop cached responses now: Next.js's revalidatePath and revalidateTag.

        For a CMS or a deploy hook: an admin's bearer token, or a call signed
        with the shared secret. The next GET of each path, and of every view
        declaring one of the tags, on any worker, is rendered afresh.
        """
        paths, tags = services.revalidate(body["paths"], body["tags"])
        return {"revalidated": {"paths": paths, "tags": tags}}


@bp.route("/clock/static", endpoint="clock_static", tags=["clocks"])
class ClockStatic(MethodView):
    @cache_view("force-static")
    @bp.doc(operationId="getStaticClock")
    @bp.response(200, ClockOut, headers=doc.STORED)
    @not_modified
    def get(self) -> Any:
        """The time it was rendered: cached until the cache is cleared."""
        return {"now": _iso_now()}


@bp.route("/clock/dynamic", endpoint="clock_dynamic", tags=["clocks"])
class ClockDynamic(MethodView):
    @cache_view("force-dynamic")
    @bp.doc(operationId="getDynamicClock")
    @bp.response(200, ClockOut)
    def get(self) -> Any:
        """The time now: rendered on every request."""
        return {"now": _iso_now()}


@bp.route("/clock/revalidate", endpoint="clock_revalidate", tags=["clocks"])
class ClockRevalidate(MethodView):
    @cache_view(revalidate=300)
    @bp.doc(operationId="getRevalidatingClock")
    @bp.response(200, ClockOut, headers=doc.STORED)
    @not_modified
    def get(self) -> Any:
        """The time it was rendered: cached for 300 s, then regenerated in the background."""
        return {"now": _iso_now()}
