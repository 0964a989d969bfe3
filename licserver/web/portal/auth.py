"""Log in and out, forgotten passwords, invitations."""

from __future__ import annotations

from typing import Any

from flask import current_app, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_user, logout_user

from licserver.runtime import context
from licserver.services import notices
from licserver.services import portal_auth as svc
from licserver.services.portal_auth import Identity
from licserver.web.portal.base import PortalUser, bp, page, safe_next
from licserver.web.portal.forms import ConfirmForm, ForgotForm, LoginForm, SetPasswordForm
from licserver.web.shared.login import LoginSite, logged_out, login_page
from licserver.web.shared.pages import limit_exceeded, per_ip


def _start_session(ident: Identity) -> None:
    # A fresh session: nothing from before the log-in carries over.
    session.clear()
    login_user(PortalUser(ident))


@bp.get("/")
def index() -> Any:
    if current_user.is_authenticated:
        return redirect(url_for("portal.licenses"))
    return redirect(url_for("portal.login"))


def _logged_in(ident: Identity, target: str | None) -> Any:
    _start_session(ident)
    return redirect(safe_next(target) or url_for("portal.licenses"))


SITE = LoginSite[Identity](
    form=LoginForm,
    account_field="login",
    check=lambda account, password: svc.login(context(), account, password),
    start=_logged_in,
    logged_in=lambda: bool(current_user.is_authenticated),
    home="portal.licenses",
    template="portal/login.html",
    scope="login",
    wrong="The email (or customer number) or the password is wrong.",
    incomplete="Give your email (or customer number) and password.",
)


@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    return login_page(SITE)


@bp.post("/logout")
def logout() -> Any:
    if current_user.is_authenticated:
        # Server-side: this session's cookie, replayed, no longer logs in.
        svc.logout(context(), current_user.get_id())
    logout_user()
    return logged_out("portal.login")


@bp.route("/forgot", methods=["GET", "POST"])
def forgot() -> Any:
    form = ForgotForm()
    if request.method == "POST":
        per_ip()
        if form.validate_on_submit():
            email = form.email.data.strip().lower()
            limit_exceeded("PORTAL_RESET_LIMIT", "reset", email, hit=True)
            minutes = current_app.config["PASSWORD_RESET_TTL_MINUTES"]
            req = svc.request_reset(context(), email, minutes)
            if req is not None:
                notices.password_reset(
                    context().mailer, to=req.email, name=req.name, token=req.token, minutes=minutes
                )
            # The same answer whether or not the address has a login.
            return page(
                200,
                "Check your email",
                f"If {email} has a login here, a link to set a new password is on its way. "
                f"It works once, for {minutes} minutes.",
            )
    return render_template("portal/forgot.html", form=form)


def _set_password(kind: str, token: str) -> Any:
    """The page behind an emailed link: invitation or reset, one use each."""
    check = svc.check_invitation if kind == "invitation" else svc.check_reset
    user = check(context(), token)  # NotFound: used, expired or replaced
    form = SetPasswordForm()
    if request.method == "POST":
        per_ip()
        if form.validate_on_submit():
            if kind == "invitation":
                ident = svc.accept_invitation(context(), token, form.password.data)
            else:
                ident, at = svc.reset_password(context(), token, form.password.data)
                notices.password_changed(context().mailer, to=user.email, name=user.name, at=at)
            _start_session(ident)
            flash("Your password is set. Welcome.", "info")
            return redirect(url_for("portal.licenses"))
    return render_template(
        "portal/set_password.html", form=form, kind=kind, name=user.name, email=user.email
    )


@bp.route("/invitation/<token>", methods=["GET", "POST"])
def invitation(token: str) -> Any:
    return _set_password("invitation", token)


@bp.route("/reset/<token>", methods=["GET", "POST"])
def reset(token: str) -> Any:
    return _set_password("reset", token)


@bp.app_context_processor
def _logout_form() -> dict[str, Any]:
    # The log-out button in every page's header is a form (POST, CSRF).
    return {"logout_form": ConfirmForm}
