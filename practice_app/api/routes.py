"""The JSON API: Next.js's route handlers, one MethodView per URL.

Each class is a ``route.ts``: its methods are the exported GET, POST, ...;
Flask answers HEAD like GET and OPTIONS with ``Allow``; other methods get 405.
Every GET method declares how it is cached (``caching.cache_view``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import Response, g, request, url_for
from flask.views import MethodView
from flask_login import current_user
from flask_smorest import Blueprint

from .. import services
from ..caching import cache_view
from ..models import Problem
from ..rules import ProblemInput, ProblemPatch
from .auth import token_required, token_user
from .parsing import StrictJsonParser
from .schemas import ClockOut, ProblemOut, SearchArgs, StatsOut, WhoAmIOut


class ApiBlueprint(Blueprint):
    """flask-smorest's blueprint, reading bodies with the strict parser."""

    ARGUMENTS_PARSER = StrictJsonParser()


bp = ApiBlueprint(
    "api",
    __name__,
    url_prefix="/api",
    description="Practice problems: the route handlers.",
)

BEARER: list[dict[str, list[str]]] = [{"bearerAuth": []}]


def _problem_location(problem: Problem) -> dict[str, str]:
    return {"Location": url_for("api.problem_detail", problem_id=problem.id)}


def _iso_now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@bp.route("/problems", endpoint="problem_list")
class ProblemList(MethodView):
    @cache_view("auto", tags=("problems",))
    @bp.response(200, ProblemOut(many=True))
    def get(self) -> Any:
        """Every problem, by id (static: cached until a problem changes)."""
        return services.list_problems()

    @bp.doc(security=BEARER)
    @token_required
    @bp.arguments(ProblemInput)
    @bp.response(201, ProblemOut)
    @bp.alt_response(401, description="No valid token")
    @bp.alt_response(409, description="A problem with this name exists")
    @bp.alt_response(422, description="Invalid fields")
    def post(self, fields: dict[str, Any]) -> Any:
        """Add a problem."""
        problem = services.create_problem(g.api_user, fields)
        return problem, 201, _problem_location(problem)


@bp.route("/problems/<problem_id:problem_id>", endpoint="problem_detail")
class ProblemDetail(MethodView):
    @cache_view("auto", tags=("problems",))
    @bp.response(200, ProblemOut)
    @bp.alt_response(404, description="Problem not found")
    def get(self, problem_id: int | str) -> Any:
        """One problem."""
        return services.get_problem(problem_id)

    @bp.doc(security=BEARER)
    @token_required
    @bp.arguments(ProblemInput)
    @bp.response(200, ProblemOut)
    @bp.alt_response(403, description="Not its author nor an admin")
    def put(self, fields: dict[str, Any], problem_id: int | str) -> Any:
        """Replace a problem: fields left out take their defaults."""
        return services.update_problem(g.api_user, problem_id, fields)

    @bp.doc(security=BEARER)
    @token_required
    @bp.arguments(ProblemPatch)
    @bp.response(200, ProblemOut)
    @bp.alt_response(403, description="Not its author nor an admin")
    def patch(self, fields: dict[str, Any], problem_id: int | str) -> Any:
        """Change the given fields of a problem."""
        return services.update_problem(g.api_user, problem_id, fields)

    @bp.doc(security=BEARER)
    @token_required
    @bp.response(204)
    @bp.alt_response(403, description="Not its author nor an admin")
    def delete(self, problem_id: int | str) -> Any:
        """Remove a problem."""
        services.delete_problem(g.api_user, problem_id)
        return Response(status=204)


@bp.route("/search", endpoint="problem_search")
class ProblemSearch(MethodView):
    @bp.arguments(SearchArgs, location="query", as_kwargs=True)
    @bp.response(200, ProblemOut(many=True))
    @bp.alt_response(400, description="q is missing or blank, or q or tag holds a NUL")
    def get(self, q: str, limit: int, offset: int, **filters: Any) -> Any:
        """Problems whose name contains q, in any case (dynamic: reads the query string).

        Sends ``X-Total-Count``, and ``Link: <...>; rel="next"`` when more remain.
        """
        problems, total = services.search_problems(q, limit=limit, offset=offset, **filters)
        headers = {"X-Total-Count": str(total)}
        if offset + len(problems) < total:
            following = url_for(
                "api.problem_search", q=q, limit=limit, offset=offset + limit, **filters
            )
            headers["Link"] = f'<{following}>; rel="next"'
        return problems, 200, headers


@bp.route("/whoami", endpoint="whoami")
class WhoAmI(MethodView):
    @bp.doc(security=[{}, *BEARER])
    @bp.response(200, WhoAmIOut)
    def get(self) -> Any:
        """Who is calling, by bearer token or session cookie (dynamic: reads headers)."""
        user = token_user()
        if user is None and current_user.is_authenticated:
            user = current_user
        return {"user": user, "userAgent": request.headers.get("User-Agent")}


@bp.route("/stats", endpoint="stats")
class Stats(MethodView):
    @cache_view(revalidate=300, tags=("problems",))
    @bp.response(200, StatsOut)
    def get(self) -> Any:
        """Counts of problems (revalidates every 300 s, and after every change)."""
        return {**services.problem_stats(), "generated_at": _iso_now()}


@bp.route("/clock/static", endpoint="clock_static")
class ClockStatic(MethodView):
    @cache_view("force-static")
    @bp.response(200, ClockOut)
    def get(self) -> Any:
        """The time it was rendered: cached until the cache is cleared."""
        return {"now": _iso_now()}


@bp.route("/clock/dynamic", endpoint="clock_dynamic")
class ClockDynamic(MethodView):
    @cache_view("force-dynamic")
    @bp.response(200, ClockOut)
    def get(self) -> Any:
        """The time now: rendered on every request."""
        return {"now": _iso_now()}


@bp.route("/clock/revalidate", endpoint="clock_revalidate")
class ClockRevalidate(MethodView):
    @cache_view(revalidate=300)
    @bp.response(200, ClockOut)
    def get(self) -> Any:
        """The time it was rendered: cached for 300 s, then regenerated in the background."""
        return {"now": _iso_now()}
