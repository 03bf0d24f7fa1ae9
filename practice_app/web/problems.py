"""The problem pages and their form actions: list, detail, new, edit, delete."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from flask import flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from .. import services
from ..documents import SORTS, SearchQuery
from ..errors import FieldErrors, ValueTaken
from ..models import DIFFICULTIES, Problem
from .blueprint import bp
from .forms import ProblemForm
from .helpers import attach_errors, int_arg, signed_in_user, signin_required, user_or_none

PAGE_SIZE = 20
MAX_PAGE_SIZE = 100
QUERY_MAX = 200
# The name of the problem form's Preview button: a post that renders, and saves nothing.
PREVIEW = "preview"
DEFAULT_SORT = "newest"  # a problem just made is on page 1
SORT_LABELS = {"newest": "Newest", "oldest": "Oldest", "name": "Name", "difficulty": "Difficulty"}


def _save_problem_form(
    form: ProblemForm, save: Callable[[dict[str, Any]], Problem]
) -> Problem | None:
    """Save a posted problem form with ``save`` (a service); None when it was refused.

    The form checks shape; the service checks the rules and writes, once. When
    the shape is wrong nothing is saved, but the rules still look at the
    fields, so every mistake is shown at once, each beside its field.
    """
    if not form.validate():
        try:
            services.load_problem_fields(form.fields())
        except FieldErrors as err:
            attach_errors(form, err.details, keep_first=True)
        return None
    try:
        return save(form.fields())
    except (FieldErrors, ValueTaken) as err:
        attach_errors(form, err.details)
        return None


def _problem_data(problem: Problem) -> dict[str, Any]:
    return {
        "name": problem.name,
        "difficulty": problem.difficulty,
        "tags": ", ".join(row.tag for row in problem.tag_rows),
        "statement": problem.statement,
    }


@bp.get("/")
def problem_list() -> Any:
    """The catalogue, newest first or by ``?sort=``, searched by name, filtered by difficulty, tag.

    A search form sends its empty fields too (``?q=tree&difficulty=&tag=``),
    and the default sort: such an address is redirected to the same search
    without them, so each search has one address.
    """
    if (
        any(value == "" for value in request.args.values())
        or request.args.get("sort") == DEFAULT_SORT
    ):
        kept = [
            (name, value)
            for name, value in request.args.items(multi=True)
            if value != "" and (name, value) != ("sort", DEFAULT_SORT)
        ]
        return redirect(url_for("web.problem_list") + (f"?{urlencode(kept)}" if kept else ""), 302)
    q = request.args.get("q", "").strip()[:QUERY_MAX]
    difficulty = request.args.get("difficulty", "")
    difficulty = difficulty if difficulty in DIFFICULTIES else ""
    # As the pages show tags (#dfs), or as they are (dfs).
    tag = request.args.get("tag", "").strip().lower().lstrip("#").strip()[:30]
    sort = request.args.get("sort", DEFAULT_SORT)
    sort = sort if sort in SORTS else DEFAULT_SORT
    limit = int_arg("limit", PAGE_SIZE, 1, MAX_PAGE_SIZE)
    offset = int_arg("offset", 0, 0, 2**31)
    query = SearchQuery(q, difficulty or None, tag or None, limit=limit, offset=offset, sort=sort)
    problems, total = services.search_problems(query)
    filters: dict[str, Any] = {"q": q or None, "difficulty": difficulty or None, "tag": tag or None}
    if sort != DEFAULT_SORT:
        filters["sort"] = sort
    if limit != PAGE_SIZE:
        filters["limit"] = str(limit)
    previous_url = next_url = None
    if offset > 0:
        previous_url = url_for("web.problem_list", **filters, offset=max(0, offset - limit) or None)
    if offset + len(problems) < total:
        next_url = url_for("web.problem_list", **filters, offset=offset + limit)
    return render_template(
        "web/problem/list.html",
        problems=problems,
        total=total,
        q=q,
        difficulty=difficulty,
        tag=tag,
        difficulties=DIFFICULTIES,
        first=offset + 1,
        last=offset + len(problems),
        page=offset // limit + 1,
        pages=max(1, -(-total // limit)),
        sort=sort,
        sorts=SORT_LABELS,
        previous_url=previous_url,
        next_url=next_url,
        filtered=bool(q or difficulty or tag),
    )


@bp.get("/problems/<problem_id:problem_id>")
def problem_detail(problem_id: int | str) -> str:
    """One problem, its statement rendered from Markdown."""
    problem = services.get_problem(problem_id)
    return render_template(
        "web/problem/detail.html",
        problem=problem,
        can_edit=services.can_edit(user_or_none(), problem),
    )


@bp.route("/problems/new", methods=["GET", "POST"])
@signin_required
def problem_new() -> Any:
    """Show the new-problem form; on POST, create the problem."""
    form = ProblemForm()
    if not form.is_submitted():
        return render_template("web/problem/form.html", form=form, problem=None)
    if PREVIEW in request.form:
        return _preview(form, problem=None)
    problem = _save_problem_form(form, lambda data: services.create_problem(signed_in_user(), data))
    if problem is not None:
        flash(f"Created “{problem.name}”.", "success")
        return redirect(url_for("web.problem_detail", problem_id=problem.id), 303)
    return render_template("web/problem/form.html", form=form, problem=None), 422


@bp.route("/problems/<problem_id:problem_id>/edit", methods=["GET", "POST"])
@signin_required
def problem_edit(problem_id: int | str) -> Any:
    """Show a problem's edit form; on POST, save it. Its author or an admin only."""
    problem = services.get_problem(problem_id)
    services.require_editor(signed_in_user(), problem)
    if request.method == "GET":
        form = ProblemForm(data=_problem_data(problem))
        return render_template("web/problem/form.html", form=form, problem=problem)
    form = ProblemForm()
    if PREVIEW in request.form:
        return _preview(form, problem=problem)
    saved = _save_problem_form(
        form, lambda data: services.update_problem(signed_in_user(), problem.id, data, replace=True)
    )
    if saved is not None:
        flash(f"Saved “{saved.name}”.", "success")
        return redirect(url_for("web.problem_detail", problem_id=saved.id), 303)
    return render_template("web/problem/form.html", form=form, problem=problem), 422


def _preview(form: ProblemForm, problem: Problem | None) -> str:
    """The form again, as typed, with its statement rendered as the problem's page will show it.

    The Preview button is a submit button of the form (``name="preview"``):
    with JavaScript off the browser posts the form and gets this page; with
    it on, the same post is swapped in place. Nothing is saved or checked
    (``CSRFProtect`` has checked the token, as for every post).
    """
    return render_template(
        "web/problem/form.html", form=form, problem=problem, preview=form.statement.data or ""
    )


@bp.post("/problems/<problem_id:problem_id>/delete")
@signin_required
def problem_delete(problem_id: int | str) -> Response:
    """Delete a problem. Its author or an admin only."""
    problem = services.get_problem(problem_id)
    name = problem.name
    services.delete_problem(signed_in_user(), problem.id)
    flash(f"Deleted “{name}”.", "success")
    return redirect(url_for("web.problem_list"), 303)
