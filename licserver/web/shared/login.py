"""The log-in and log-out pages, written once for the portal and the console.

Each site describes itself in a :class:`LoginSite` (its form, how a password is
checked, what a good log-in does, its wording) and its view calls
:func:`login_page`; the console's second step (the TOTP code) is its own page,
reached through the site's ``start``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from flask import flash, redirect, render_template, request, session, url_for

from licserver.web.shared.pages import check_login, per_ip

IdentT = TypeVar("IdentT")  # the site's identity type


@dataclass(frozen=True)
class LoginSite(Generic[IdentT]):
    form: Callable[[], Any]  # a FlaskForm with ``password`` and the ``account_field``
    account_field: str
    # The password check: the identity, or InvalidCredentials.
    check: Callable[[str, str], IdentT]
    # A good password: start the session (or the next step) and answer; gets the
    # identity and the ``next`` argument (unchecked: the site makes it safe).
    start: Callable[[IdentT, str | None], Any]
    logged_in: Callable[[], bool]
    home: str  # endpoint for someone already logged in
    template: str
    scope: str  # the PORTAL_LOGIN_LIMIT scope of this site's accounts
    wrong: str  # the answer to a wrong account or password (401)
    incomplete: str  # the answer to a form missing either


def login_page(site: LoginSite[IdentT]) -> Any:
    """GET: the form (or home, when logged in). POST: the per-address and
    per-account limits, then the password check; a wrong one answers 401 on the
    form, a right one whatever ``site.start`` does."""
    form = site.form()
    error, status = None, 200
    if request.method == "POST":
        per_ip()
        if form.validate_on_submit():
            account = str(form[site.account_field].data).strip()
            password = str(form.password.data)
            ident = check_login(site.scope, account, lambda: site.check(account, password))
            if ident is None:
                error, status = site.wrong, 401
            else:
                return site.start(ident, request.args.get("next"))
        else:
            error = site.incomplete
    elif site.logged_in():
        return redirect(url_for(site.home))
    return render_template(site.template, form=form, error=error), status


def logged_out(login_endpoint: str) -> Any:
    """End the browser's side of a session (the caller has ended the server's)
    and go back to the log-in page."""
    session.clear()
    flash("You are logged out.", "info")
    return redirect(url_for(login_endpoint))
