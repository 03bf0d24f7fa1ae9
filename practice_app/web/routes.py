"""The HTML pages and form actions: Next.js's server actions, done with Flask-WTF.

Every action is a POST with a CSRF token (``CSRFProtect`` checks it before any
view runs). Forms check shape, ``services`` checks the rules; success flashes
and answers 303 to the page that shows the result; invalid input answers 422
with the form again. Pages read the signed-in user, so ``caching`` sees them
read the request and never stores them (they carry CSRF tokens and flashes).
"""

from __future__ import annotations

import functools
import inspect
import itertools
import json
import re
import textwrap
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar, cast
from urllib.parse import urlencode, urlsplit

from flask import (
    Blueprint,
    Flask,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user, login_user, logout_user
from flask_wtf import FlaskForm
from markupsafe import Markup
from werkzeug.wrappers import Response

from .. import caching, services
from ..errors import FieldErrors, ValueTaken
from ..extensions import limiter
from ..markdown import render_markdown
from ..models import DIFFICULTIES, MAX_ID, Problem, User
from .forms import LoginForm, ProblemForm, RegisterForm, TokenForm

bp = Blueprint("web", __name__)

# The pages load only their own files: no inline script, no other origin.
# Inline style attributes are allowed for the text-align that nh3 keeps on
# Markdown table cells; images in statements may come from any http(s) host.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' https: http: data:; connect-src 'self'; object-src 'none'; "
        "base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}


@bp.after_request
def security_headers(response: Response) -> Response:
    """Add the pages' security headers (the API's JSON and /api/docs go without)."""
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    return response


F = TypeVar("F", bound=Callable[..., Any])

PAGE_SIZE = 20
MAX_PAGE_SIZE = 100
QUERY_MAX = 200
# The new API token, kept in the session between the POST and the one GET that shows it.
NEW_TOKEN_KEY = "web.new_token"

_HEADING_TAG = re.compile(r"<(/?)h([2-6])>")


@bp.app_template_filter("markdown")
def render_statement(text: str) -> Markup:
    """A statement's HTML: outlined under the page's ``<h1>``, its code reachable by keyboard.

    Headings are renumbered so that none skips a level (``### Example``
    becomes ``<h2>``, the next level down ``<h3>``), and each ``<pre>`` is a
    named, focusable region, so a long line can be scrolled with the keyboard.
    ``render_markdown``'s output is sanitised: its tags carry no attributes.
    """
    html = str(render_markdown(text))
    levels = sorted({int(level) for _, level in _HEADING_TAG.findall(html)})
    rank = {level: index + 2 for index, level in enumerate(levels)}
    opened: list[int] = []  # the level each open heading was given, to close it alike
    previous = 1

    def outline(match: re.Match[str]) -> str:
        nonlocal previous
        if match.group(1):
            return f"</h{opened.pop()}>"
        previous = min(rank[int(match.group(2))], previous + 1)
        opened.append(previous)
        return f"<h{previous}>"

    html = _HEADING_TAG.sub(outline, html)
    blocks = itertools.count(1)
    html = re.sub(
        "<pre>",
        lambda _: f'<pre tabindex="0" role="region" aria-label="Code block {next(blocks)}">',
        html,
    )
    return Markup(html)  # noqa: S704 - sanitised by render_markdown; only our attributes added


@bp.app_template_filter("datetime")
def format_datetime(value: datetime | None) -> str:
    """Show a UTC timestamp to people: ``24 Nov 2026, 09:00 UTC``."""
    return f"{value.day} {value:%b %Y, %H:%M} UTC" if value is not None else "—"


@bp.app_template_filter("isodatetime")
def format_isodatetime(value: datetime | None) -> str:
    """The machine-readable form of a timestamp, for ``<time datetime>``."""
    return value.strftime("%Y-%m-%dT%H:%M:%SZ") if value is not None else ""


# -- helpers ------------------------------------------------------------------------


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


def _next_or_home(target: str | None) -> str:
    return safe_next(target) or url_for("web.problem_list")


def _return_path() -> str | None:
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
            return redirect(url_for("web.login", next=_return_path()), 303)
        return view(*args, **kwargs)

    return cast(F, wrapper)


def _user() -> User:
    """The signed-in user (only under ``signin_required``)."""
    return cast(User, current_user._get_current_object())


def _user_or_none() -> User | None:
    return _user() if current_user.is_authenticated else None


def _attach_errors(
    form: FlaskForm, details: Mapping[str, list[str]], *, keep_first: bool = False
) -> None:
    """Put each rule's message beside its field (or at the top when no field has its name).

    ``keep_first`` leaves a field that the form already found wrong with its
    own message, rather than adding the rule's wording of the same mistake.
    """
    for name, messages in details.items():
        field = form._fields.get(name)
        if field is not None and keep_first and field.errors:
            continue
        target: list[str] = field.errors if field is not None else form.form_errors
        for message in messages:
            if message not in target:
                target.append(message)


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
            _attach_errors(form, err.details, keep_first=True)
        return None
    try:
        return save(form.fields())
    except (FieldErrors, ValueTaken) as err:
        _attach_errors(form, err.details)
        return None


def _problem_data(problem: Problem) -> dict[str, Any]:
    return {
        "name": problem.name,
        "difficulty": problem.difficulty,
        "tags": ", ".join(row.tag for row in problem.tag_rows),
        "statement": problem.statement,
    }


def _int_arg(name: str, default: int, low: int, high: int) -> int:
    raw = request.args.get(name, "")
    if not raw.isascii() or not raw.isdigit():
        return default
    return max(low, min(high, int(raw)))


# -- problems -------------------------------------------------------------------------


def _newest_first(
    q: str, *, difficulty: str | None, tag: str | None, limit: int, offset: int
) -> tuple[list[Problem], int]:
    """One page of the search, newest problem first (so a problem just made is on page 1).

    ``services.search_problems`` pages in id order, as the API does; the
    same page counted from the end, reversed, is the newest-first page.
    """
    _, total = services.search_problems(q, difficulty=difficulty, tag=tag, limit=0)
    end = total - offset
    if end <= 0:
        return [], total
    start = max(0, end - limit)
    problems, total = services.search_problems(
        q, difficulty=difficulty, tag=tag, limit=end - start, offset=start
    )
    return problems[::-1], total


@bp.get("/")
def problem_list() -> Any:
    """The catalogue, newest first, searched by name and filtered by difficulty and tag.

    A search form sends its empty fields too (``?q=tree&difficulty=&tag=``):
    such an address is redirected to the same search without them.
    """
    if any(value == "" for value in request.args.values()):
        kept = [(name, value) for name, value in request.args.items(multi=True) if value != ""]
        return redirect(url_for("web.problem_list") + (f"?{urlencode(kept)}" if kept else ""), 302)
    q = request.args.get("q", "").strip()[:QUERY_MAX]
    difficulty = request.args.get("difficulty", "")
    difficulty = difficulty if difficulty in DIFFICULTIES else ""
    tag = request.args.get("tag", "").strip().lower()[:30]
    limit = _int_arg("limit", PAGE_SIZE, 1, MAX_PAGE_SIZE)
    offset = _int_arg("offset", 0, 0, 2**31)
    problems, total = _newest_first(
        q, difficulty=difficulty or None, tag=tag or None, limit=limit, offset=offset
    )
    filters: dict[str, Any] = {"q": q or None, "difficulty": difficulty or None, "tag": tag or None}
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
        can_edit=services.can_edit(_user_or_none(), problem),
    )


@bp.route("/problems/new", methods=["GET", "POST"])
@signin_required
def problem_new() -> Any:
    """Show the new-problem form; on POST, create the problem."""
    form = ProblemForm()
    if not form.is_submitted():
        return render_template("web/problem/form.html", form=form, problem=None)
    problem = _save_problem_form(form, lambda data: services.create_problem(_user(), data))
    if problem is not None:
        flash(f"Created “{problem.name}”.", "success")
        return redirect(url_for("web.problem_detail", problem_id=problem.id), 303)
    return render_template("web/problem/form.html", form=form, problem=None), 422


@bp.route("/problems/<problem_id:problem_id>/edit", methods=["GET", "POST"])
@signin_required
def problem_edit(problem_id: int | str) -> Any:
    """Show a problem's edit form; on POST, save it. Its author or an admin only."""
    problem = services.get_problem(problem_id)
    services.require_editor(_user(), problem)
    if request.method == "GET":
        form = ProblemForm(data=_problem_data(problem))
        return render_template("web/problem/form.html", form=form, problem=problem)
    form = ProblemForm()
    saved = _save_problem_form(
        form, lambda data: services.update_problem(_user(), problem.id, data, replace=True)
    )
    if saved is not None:
        flash(f"Saved “{saved.name}”.", "success")
        return redirect(url_for("web.problem_detail", problem_id=saved.id), 303)
    return render_template("web/problem/form.html", form=form, problem=problem), 422


@bp.post("/problems/<problem_id:problem_id>/delete")
@signin_required
def problem_delete(problem_id: int | str) -> Response:
    """Delete a problem. Its author or an admin only."""
    problem = services.get_problem(problem_id)
    name = problem.name
    services.delete_problem(_user(), problem.id)
    flash(f"Deleted “{name}”.", "success")
    return redirect(url_for("web.problem_list"), 303)


# -- accounts ---------------------------------------------------------------------------


def sign_in_limit() -> str:
    return str(current_app.config["SIGN_IN_RATE_LIMIT"])


def _start_session(user: User, *, remember: bool = False) -> None:
    """Sign ``user`` in on a new session: nothing from before, CSRF token included, is kept.

    Otherwise a session cookie planted before the sign-in (with its CSRF
    token, which whoever planted it knows) would become the user's.
    """
    session.clear()
    login_user(user, remember=remember)


@bp.route("/register", methods=["GET", "POST"])
@limiter.limit(sign_in_limit, methods=["POST"])
def register() -> Any:
    """Show the sign-up form; on POST, create the account and sign in."""
    form = RegisterForm()
    if not form.is_submitted():
        form.next.data = safe_next(request.args.get("next")) or ""
        return render_template("web/auth/register.html", form=form)
    if form.validate():
        try:
            user = services.create_user(form.name.data or "", form.password.data or "")
        except (FieldErrors, ValueTaken) as err:
            _attach_errors(form, err.details)
        else:
            _start_session(user)
            flash(f"Welcome, {user.name}. Your account is ready and you are signed in.", "success")
            return redirect(_next_or_home(form.next.data), 303)
    return render_template("web/auth/register.html", form=form), 422


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(sign_in_limit, methods=["POST"])
def login() -> Any:
    """Show the sign-in form; on POST, sign in and go where ``next`` says (on this site)."""
    form = LoginForm()
    if not form.is_submitted():
        form.next.data = safe_next(request.args.get("next")) or ""
        return render_template("web/auth/login.html", form=form)
    if form.validate():
        user = services.authenticate(form.name.data or "", form.password.data or "")
        if user is None:
            form.form_errors.append("That name and password do not match an account.")
        else:
            _start_session(user, remember=bool(form.remember.data))
            flash(f"Signed in as {user.name}.", "success")
            return redirect(_next_or_home(form.next.data), 303)
    return render_template("web/auth/login.html", form=form), 422


@bp.post("/logout")
def logout() -> Response:
    """Sign out (POST only, with a CSRF token: a link cannot sign anyone out).

    The user's session token changes, so every cookie that signed them in, on
    this device or another, copied or not, signs no one in any more.
    """
    if current_user.is_authenticated:
        services.end_sessions(_user())
    session.clear()
    logout_user()
    flash("You are signed out.", "info")
    return redirect(url_for("web.problem_list"), 303)


@bp.route("/account/tokens", methods=["GET", "POST"])
@signin_required
def account_tokens() -> Any:
    """List the user's API tokens; on POST, create one and show it once."""
    user = _user()
    form = TokenForm()
    if form.is_submitted():
        if form.validate():
            row, token = services.create_token(user, form.label.data or "")
            session[NEW_TOKEN_KEY] = {"id": row.id, "token": token}
            flash("Token created. Copy it now: it will not be shown again.", "success")
            return redirect(url_for("web.account_tokens"), 303)
        new_token = None
    else:
        new_token = session.pop(NEW_TOKEN_KEY, None)
    return render_template(
        "web/account/tokens.html",
        form=form,
        tokens=list(reversed(user.tokens)),
        new_token=new_token,
    ), (422 if form.errors else 200)


# Larger ids name nothing (the id columns are 32-bit): 404 from the router.
@bp.post(f"/account/tokens/<int(max={MAX_ID}):token_id>/revoke")
@signin_required
def token_revoke(token_id: int) -> Response:
    """Revoke one of the user's API tokens."""
    row = services.revoke_token(_user(), token_id)
    flash(
        f"Revoked the token {row.prefix}…{' (' + row.label + ')' if row.label else ''}.", "success"
    )
    return redirect(url_for("web.account_tokens"), 303)


# -- the comparison page --------------------------------------------------------------


@dataclass(frozen=True)
class LiveRoute:
    """A route of the JSON API that the comparison page calls."""

    endpoint: str
    title: str
    summary: str


LIVE_ROUTES = (
    LiveRoute(
        "api.clock_static",
        "Static",
        "Rendered once, then served from the shared cache until it is cleared.",
    ),
    LiveRoute(
        "api.clock_dynamic",
        "Dynamic",
        "Rendered on every request and never stored.",
    ),
    LiveRoute(
        "api.clock_revalidate",
        "Revalidate",
        "Stored for 300 s, then served stale once while one worker renders it again.",
    ),
    LiveRoute(
        "api.problem_list",
        "Problem list",
        "Static because it reads nothing from the request; every change to a problem drops it.",
    ),
)


def _call_live(app: Flask, route: LiveRoute) -> dict[str, Any]:
    """GET one API route through the whole app (cache middleware included), as a client would."""
    path = url_for(route.endpoint)
    policy = caching.policy_for(app, route.endpoint, "GET")
    started = time.perf_counter()
    # A fresh app context: the inner request gets its own database session and `g`.
    with app.app_context():
        response = caching.subrequest(app, request.environ, path)
    elapsed_ms = (time.perf_counter() - started) * 1000
    try:
        body = json.loads(response.body)
    except ValueError:
        body = None
    if isinstance(body, list):
        value = f"{len(body)} problem{'' if len(body) == 1 else 's'}"
    elif isinstance(body, dict) and "now" in body:
        value = str(body["now"])
    else:
        value = f"HTTP {response.status}"
    return {
        "route": route,
        "declaration": policy.declaration() if policy else "",
        "url": path,
        "status": response.status,
        "value": value,
        "x_cache": response.headers.get("X-Cache"),
        "cache_control": response.headers.get("Cache-Control"),
        "age": response.headers.get("Age"),
        "ms": f"{elapsed_ms:.1f}",
    }


@dataclass(frozen=True)
class Excerpt:
    """Lines of this app's own code, read when the page is rendered: they cannot go stale."""

    name: str
    path: str
    code: str


def _excerpt_lines(name: str, path: Path, lines: list[str], keep: tuple[str, ...]) -> Excerpt:
    """Dedent ``lines``; with ``keep``, only the lines holding one of those strings, and ``...``."""
    text = textwrap.dedent("".join(lines)).splitlines()
    if keep:
        shown: list[str] = []
        last = -1
        for number, line in enumerate(text):
            if any(part in line for part in keep):
                if shown and number > last + 1:  # lines left out: say so, at this line's indent
                    shown.append(line[: len(line) - len(line.lstrip())] + "...")
                shown.append(line)
                last = number
        text = shown
    root = Path(current_app.root_path).parent
    return Excerpt(name, str(path.resolve().relative_to(root)), "\n".join(text))


def source_excerpt(obj: Any, *, keep: tuple[str, ...] = ()) -> Excerpt:
    """The source of a function or class of this app (decorators included), or some of its lines."""
    target = inspect.unwrap(obj)
    lines, _ = inspect.getsourcelines(target)
    path = Path(inspect.getsourcefile(target) or "")
    return _excerpt_lines(target.__qualname__, path, lines, keep)


def static_excerpt(filename: str, start: str, *, keep: tuple[str, ...] = ()) -> Excerpt:
    """The block of a static file from the line holding ``start`` to its closing brace."""
    path = Path(current_app.static_folder or "") / filename
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    first = next(number for number, line in enumerate(lines) if start in line)
    indent = lines[first][: len(lines[first]) - len(lines[first].lstrip())]
    last = next(
        number for number in range(first + 1, len(lines)) if lines[number].startswith(indent + "}")
    )
    name = lines[first].strip().removeprefix("function ").split("(")[0] + "()"
    return _excerpt_lines(name, path, lines[first : last + 1], keep)


def _compare_excerpts() -> dict[str, Excerpt]:
    """The code /compare puts beside Next.js's: the API's views, a form action and what it calls."""
    views: Mapping[str, Any] = current_app.view_functions  # MethodViews: as_view keeps the class
    problem_list = views["api.problem_list"].view_class
    return {
        "method_view": source_excerpt(
            problem_list,
            keep=(
                "@bp.route",
                "class ProblemList",
                "@cache_view",
                "@token_required",
                "def get",
                "def post",
                "return services.",
                "problem = services.create_problem",
                "return problem, 201",
            ),
        ),
        "form_view": source_excerpt(problem_new),
        "service": source_excerpt(services.create_problem),
        "pending": static_excerpt("app.js", "function busy("),
        "dynamic": source_excerpt(views["api.clock_dynamic"].view_class),
        "revalidate": source_excerpt(views["api.clock_revalidate"].view_class),
        "invalidate": source_excerpt(caching.invalidate_problem),
    }


@bp.get("/compare")
def compare() -> str:
    """Route handlers against server actions, in this app, code beside code; with a live panel."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    live = [_call_live(app, route) for route in LIVE_ROUTES]
    return render_template("web/compare.html", live=live, code=_compare_excerpts())
