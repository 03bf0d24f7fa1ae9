"""Accounts: signing up, in and out, and the API tokens of the account page."""

from __future__ import annotations

from typing import Any

from flask import current_app, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_user, logout_user
from werkzeug.wrappers import Response

from .. import services
from ..errors import FieldErrors, ValueTaken
from ..extensions import limiter
from ..models import MAX_ID, User
from .blueprint import bp
from .forms import LoginForm, RegisterForm, TokenForm
from .helpers import attach_errors, next_or_home, safe_next, signed_in_user, signin_required

# The new API token, kept in the session between the POST and the one GET that shows it.
NEW_TOKEN_KEY = "web.new_token"


def sign_in_limit() -> str:
    """The sign-in and sign-up limit per client address (``SIGN_IN_RATE_LIMIT``)."""
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
            attach_errors(form, err.details)
        else:
            _start_session(user)
            flash(f"Welcome, {user.name}. Your account is ready and you are signed in.", "success")
            return redirect(next_or_home(form.next.data), 303)
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
            return redirect(next_or_home(form.next.data), 303)
    return render_template("web/auth/login.html", form=form), 422


@bp.post("/logout")
def logout() -> Response:
    """Sign out (POST only, with a CSRF token: a link cannot sign anyone out).

    The user's session token changes, so every cookie that signed them in, on
    this device or another, copied or not, signs no one in any more.
    """
    if current_user.is_authenticated:
        services.end_sessions(signed_in_user())
    session.clear()
    logout_user()
    flash("You are signed out.", "info")
    return redirect(url_for("web.problem_list"), 303)


@bp.route("/account/tokens", methods=["GET", "POST"])
@signin_required
def account_tokens() -> Any:
    """List the user's API tokens; on POST, create one and show it once."""
    user = signed_in_user()
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
    row = services.revoke_token(signed_in_user(), token_id)
    flash(
        f"Revoked the token {row.prefix}…{' (' + row.label + ')' if row.label else ''}.", "success"
    )
    return redirect(url_for("web.account_tokens"), 303)
