"""Accounts: signing up, in and out, changing the password, and the API tokens of the
account page."""

from __future__ import annotations

from typing import Any

from flask import current_app, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_user, logout_user
from flask_login.config import COOKIE_NAME
from werkzeug.wrappers import Response

from .. import services
from ..errors import FieldErrors, ValueTaken
from ..extensions import limiter
from ..models import MAX_ID, User
from .blueprint import bp
from .forms import LoginForm, PasswordForm, RegisterForm, TokenForm
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
    tokens = list(reversed(user.tokens))  # newest first
    return render_template(
        "web/account/tokens.html",
        form=form,
        tokens=[row for row in tokens if row.revoked_at is None],
        revoked=[row for row in tokens if row.revoked_at is not None],
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


@bp.post("/account/tokens/clear-revoked")
@signin_required
def tokens_clear_revoked() -> Response:
    """Delete the user's revoked tokens (they stay refused: no row, no user)."""
    cleared = services.clear_revoked_tokens(signed_in_user())
    if cleared:
        flash(f"Cleared {cleared} revoked token{'s' if cleared != 1 else ''}.", "success")
    else:
        flash("There were no revoked tokens to clear.", "info")
    return redirect(url_for("web.account_tokens"), 303)


def _remembered() -> bool:
    """Whether this browser has a "keep me signed in" cookie."""
    return str(current_app.config.get("REMEMBER_COOKIE_NAME", COOKIE_NAME)) in request.cookies


@bp.route("/account/password", methods=["GET", "POST"])
@limiter.limit(sign_in_limit, methods=["POST"])
@signin_required
def account_password() -> Any:
    """Show the change-password form; on POST, change it and sign out everywhere else.

    Every session and remember-me cookie of the user stops working (the
    service gives them a new session token); this browser is signed in again
    on a new session (a new CSRF token too), remembered if it was.
    """
    user = signed_in_user()
    form = PasswordForm()
    if not form.is_submitted():
        return render_template("web/account/password.html", form=form)
    if not form.validate():
        # The shape is wrong, so nothing changes; the new password's rules still
        # look at it, so every mistake shows at once.
        try:
            services.load_password(form.password.data or "")
        except FieldErrors as err:
            attach_errors(form, err.details, keep_first=True)
    else:
        try:
            services.change_password(
                user, form.current_password.data or "", form.password.data or ""
            )
        except FieldErrors as err:
            attach_errors(form, err.details)
        else:
            _start_session(user, remember=_remembered())
            flash("Your password has changed; you were signed out everywhere else.", "success")
            return redirect(url_for("web.account_tokens"), 303)
    return render_template("web/account/password.html", form=form), 422
