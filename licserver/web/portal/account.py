"""Account: company details and contacts (owners), the company login
(owners), and each user's own name, notices, email and password."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_login import login_user

from licserver.domain import portal as rules
from licserver.domain.errors import Conflict, InvalidCredentials
from licserver.runtime import context
from licserver.services import notices
from licserver.services import portal_account as svc
from licserver.services import portal_auth as auth_svc
from licserver.web.portal.base import PortalUser, bp, me, principal, requires
from licserver.web.portal.forms import (
    CompanyForm,
    CompanyLoginForm,
    EmailForm,
    PasswordForm,
    ProfileForm,
)
from licserver.web.shared.forms import page_message


def _forms() -> dict[str, Any]:
    """Every form of the page, filled from the database (GET) or the post."""
    p = principal()
    out: dict[str, Any] = {"facts": svc.facts(context(), p)}
    if not p.is_company_login:
        user = auth_svc.me(context(), p)
        profile = ProfileForm(prefix="profile")
        if request.method == "GET":
            profile.name.data = user.name
            for notice in rules.NOTICES:
                field = getattr(profile, f"notify_{notice}")
                field.data = rules.wants_notice(
                    user.role, notice, getattr(user, f"notify_{notice}")
                )
        out.update(
            user=user,
            profile=profile,
            email_form=EmailForm(prefix="email"),
            password_form=PasswordForm(prefix="password"),
        )
    if rules.allowed(p, rules.ACCOUNT):
        cust = out["customer"] = svc.get(context(), p)
        company = CompanyForm(prefix="company", obj=cust if request.method == "GET" else None)
        login_form = CompanyLoginForm(prefix="login")
        if request.method == "GET":
            login_form.enabled.data = cust.company_login_enabled
            login_form.role.data = cust.company_login_role
        out.update(company=company, login_form=login_form)
    return out


def _render(status: int = 200, **errors: str) -> Any:
    return render_template("portal/account.html", errors=errors, **_forms()), status


@bp.get("/account")
@requires(None)
def account() -> Any:
    return _render()


@bp.post("/account/profile")
@requires(None, person=True)
def account_profile() -> Any:
    form = ProfileForm(prefix="profile")
    if not form.validate_on_submit():
        return _render(422, profile="Check the name.")
    auth_svc.update_profile(
        context(),
        principal(),
        name=form.name.data.strip(),
        notices={n: bool(getattr(form, f"notify_{n}").data) for n in rules.NOTICES},
    )
    flash("Your profile is saved.", "info")
    return redirect(url_for("portal.account"))


@bp.post("/account/email")
@requires(None, person=True)
def account_email() -> Any:
    form = EmailForm(prefix="email")
    if not form.validate_on_submit():
        return _render(422, email="Give a valid email address and your current password.")
    try:
        old, new, at = auth_svc.change_email(
            context(), principal(), form.password.data, form.email.data
        )
    except (InvalidCredentials, Conflict) as exc:
        return _render(422, email=exc.detail)
    if old != new:
        notices.email_changed(
            context().mailer,
            old=old,
            new=new,
            name=me().name,
            what=f"login email of {me().name}",
            company=me().customer_name,
            at=at,
        )
    flash(f"Your email is now {new}.", "info")
    return redirect(url_for("portal.account"))


@bp.post("/account/password")
@requires(None, person=True)
def account_password() -> Any:
    form = PasswordForm(prefix="password")
    if not form.validate_on_submit():
        return _render(422, password=page_message(form))
    try:
        ident, at = auth_svc.change_password(
            context(), principal(), form.current.data, form.password.data
        )
    except InvalidCredentials as exc:
        return _render(422, password=exc.detail)
    # This session goes on with the new password; every other one has ended.
    login_user(PortalUser(ident))
    notices.password_changed(context().mailer, to=ident.email or "", name=ident.name, at=at)
    flash("Your password is changed.", "info")
    return redirect(url_for("portal.account"))


@bp.post("/account/company")
@requires(rules.ACCOUNT)
def account_company() -> Any:
    form = CompanyForm(prefix="company")
    if not form.validate_on_submit():
        errors = [f"{getattr(form, k).label.text}: {v[0]}" for k, v in form.errors.items()]
        return _render(422, company="; ".join(errors))
    changes = svc.update_details(
        context(),
        principal(),
        name=form.name.data.strip(),
        email=form.email.data,
        address=(form.address.data or "").strip() or None,
        phone=(form.phone.data or "").strip() or None,
        vat_id=(form.vat_id.data or "").strip() or None,
        billing_name=(form.billing_name.data or "").strip() or None,
        billing_email=(form.billing_email.data or "").strip() or None,
    )
    for change in changes:
        notices.email_changed(
            context().mailer,
            old=change.old,
            new=change.new,
            name=me().customer_name,
            what=change.what,
            company=me().customer_name,
            at=change.at,
        )
    flash("The company details are saved.", "info")
    return redirect(url_for("portal.account"))


@bp.post("/account/company-login")
@requires(rules.ACCOUNT)
def account_company_login() -> Any:
    form = CompanyLoginForm(prefix="login")
    if not form.validate_on_submit():
        return _render(422, login=page_message(form))
    svc.update_company_login(
        context(),
        principal(),
        enabled=bool(form.enabled.data),
        role=form.role.data,
        new_password=form.new_password.data or None,
        turn_off_password=bool(form.turn_off_password.data),
    )
    flash("The company login settings are saved.", "info")
    return redirect(url_for("portal.account"))
