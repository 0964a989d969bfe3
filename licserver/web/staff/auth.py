"""Log in (password, then a TOTP code when enrolled), log out, and one's own
second factor."""

from __future__ import annotations

from typing import Any

from flask import flash, g, redirect, render_template, request, session, url_for

from licserver.domain import staff as rules
from licserver.domain.errors import InvalidCredentials
from licserver.runtime import context
from licserver.services import staff as svc
from licserver.web.shared.login import LoginSite, logged_out, login_page
from licserver.web.shared.pages import limit_exceeded, per_ip
from licserver.web.staff.base import (
    PENDING_KEY,
    SESSION_KEY,
    bp,
    current_staff,
    safe_next,
    staff_required,
    start_session,
)
from licserver.web.staff.forms import CodeForm, ConfirmForm, LoginForm

ENROL_KEY = "staff_totp_enrol"
ISSUER = "licserver"


def _finish(ident: svc.StaffIdentity, target: str | None) -> Any:
    svc.logged_in(context(), ident.id)
    start_session(ident)
    return redirect(safe_next(target) or url_for("staff.index"))


def _password_ok(ident: svc.StaffIdentity, target: str | None) -> Any:
    if ident.totp_enabled:
        # The second step, the code, is the console's own (``login_code``).
        session.clear()
        session[PENDING_KEY] = ident.session_id
        session["staff_next"] = safe_next(target)
        return redirect(url_for("staff.login_code"))
    return _finish(ident, target)


SITE = LoginSite[svc.StaffIdentity](
    form=LoginForm,
    account_field="email",
    check=lambda email, password: svc.check_password(context(), email, password),
    start=_password_ok,
    logged_in=lambda: g.staff is not None,
    home="staff.index",
    template="staff/login.html",
    scope="staff-login",
    wrong="The email or the password is wrong.",
    incomplete="Give your email and password.",
)


@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    return login_page(SITE)


@bp.route("/login/code", methods=["GET", "POST"])
def login_code() -> Any:
    pending = session.get(PENDING_KEY)
    if not isinstance(pending, str):
        return redirect(url_for("staff.login"))
    form = CodeForm()
    error, status = None, 200
    if request.method == "POST":
        per_ip()
        if form.validate_on_submit():
            limit_exceeded("PORTAL_LOGIN_LIMIT", "staff-code", pending, hit=False)
            try:
                ident = svc.check_code(context(), pending, form.code.data)
            except InvalidCredentials as exc:
                limit_exceeded("PORTAL_LOGIN_LIMIT", "staff-code", pending, hit=True)
                error, status = exc.detail, 401
            else:
                return _finish(ident, session.get("staff_next"))
        else:
            error = "Give the six digits your app shows."
    return render_template("staff/code.html", form=form, error=error), status


@bp.post("/logout")
def logout() -> Any:
    sid = session.get(SESSION_KEY)
    if isinstance(sid, str) and g.staff is not None:
        # Server-side: this cookie, replayed, no longer opens the console.
        svc.logout(context(), sid)
    return logged_out("staff.login")


# ---- own account: the second factor ----------------------------------------------


@bp.get("/account")
@staff_required()
def account() -> Any:
    me = current_staff()
    secret = session.get(ENROL_KEY)
    uri = None
    if not me.totp_enabled:
        if not isinstance(secret, str):
            secret = rules.new_totp_secret()
            session[ENROL_KEY] = secret
        uri = rules.otpauth_uri(secret, me.email, ISSUER)
    return render_template(
        "staff/account.html", secret=secret, uri=uri, form=CodeForm(), confirm=ConfirmForm()
    )


@bp.post("/account/totp")
@staff_required()
def totp_confirm() -> Any:
    me = current_staff()
    form = CodeForm()
    secret = session.get(ENROL_KEY)
    if not isinstance(secret, str) or not form.validate_on_submit():
        flash("Give the six digits your app shows.", "error")
        return redirect(url_for("staff.account"))
    try:
        ident = svc.confirm_totp(context(), me.id, secret, form.code.data)
    except InvalidCredentials as exc:
        flash(exc.detail, "error")
        return redirect(url_for("staff.account"))
    session.pop(ENROL_KEY, None)
    start_session(ident)
    flash("Second factor on: log-ins now ask for a code from your app.", "info")
    return redirect(url_for("staff.account"))


@bp.post("/account/totp/remove")
@staff_required()
def totp_remove() -> Any:
    me = current_staff()
    form = CodeForm()
    if not form.validate_on_submit():
        flash("Give the six digits your app shows.", "error")
        return redirect(url_for("staff.account"))
    try:
        ident = svc.remove_totp(context(), me.id, form.code.data)
    except InvalidCredentials as exc:
        flash(exc.detail, "error")
        return redirect(url_for("staff.account"))
    start_session(ident)
    flash("Second factor off.", "info")
    return redirect(url_for("staff.account"))
