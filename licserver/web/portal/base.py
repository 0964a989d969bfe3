"""The portal's blueprint and what every page shares: who is logged in, the
matrix check on every route, rate limits, error pages, security headers."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from flask import Blueprint, render_template, request
from flask_login import UserMixin, current_user, login_required

from licserver.domain import portal as rules
from licserver.domain.errors import Forbidden
from licserver.domain.portal import Principal
from licserver.runtime import context
from licserver.services import Actor, Origin
from licserver.services import portal_auth as auth_service
from licserver.services.portal_auth import Identity
from licserver.web.shared import login_manager, pages
from licserver.web.shared.pages import (
    limit_exceeded as limit_exceeded,  # re-exported for the pages' modules
)

F = TypeVar("F", bound=Callable[..., Any])

bp = Blueprint(
    "portal",
    __name__,
    url_prefix="/portal",
    template_folder="templates",
    static_folder="static",
)


class PortalUser(UserMixin):  # type: ignore[misc]
    """Flask-Login's view of an Identity. The session keeps ``session_id``,
    which changes with the password: changing it logs out every other session."""

    def __init__(self, ident: Identity) -> None:
        self.ident = ident

    def get_id(self) -> str:
        return self.ident.session_id


@login_manager.user_loader  # type: ignore[untyped-decorator]
def _load(session_id: str) -> PortalUser | None:
    ident = auth_service.load(context(), session_id)
    return PortalUser(ident) if ident is not None else None


def me() -> Identity:
    ident: Identity = current_user.ident
    return ident


def principal() -> Principal:
    return me().principal


def can(action: str) -> bool:
    """For templates: show a link or button only to those the matrix allows."""
    if not current_user.is_authenticated:
        return False
    return rules.allowed(principal(), action)


def requires(action: str | None, *, person: bool = False) -> Callable[[F], F]:
    """Every portal route names its action in the matrix (None: any logged-in
    user). ``person``: a named user only, not the company login (own profile)."""

    def decorate(func: F) -> F:
        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if action is not None:
                rules.check(principal(), action)
            if person and principal().is_company_login:
                raise Forbidden("The company login has no profile; log in with your own email.")
            return func(*args, **kwargs)

        wrapper.portal_action = action  # type: ignore[attr-defined]
        return login_required(wrapper)  # type: ignore[no-any-return]

    return decorate


def by_me() -> str:
    """The logged-in user as the notices name who did something."""
    ident = me()
    return ident.name if ident.email is None else f"{ident.name} <{ident.email}>"


def origin() -> Origin:
    return Origin(Actor("user", me().actor_id), request.remote_addr)


def safe_next(target: str | None) -> str | None:
    """Only a path inside the portal: never another site."""
    return pages.safe_next(target, "/portal/")


# ---- every request --------------------------------------------------------------


@bp.app_context_processor
def _template_globals() -> dict[str, Any]:
    return {"can": can, "rules": rules}


def page(status: int, title: str, message: str) -> tuple[str, int]:
    return render_template("portal/message.html", title=title, message=message), status


# CSRF on every form, the portal's own strict CSP, and its error pages.
pages.install(
    bp,
    page,
    csp_header=pages.csp(),
    too_many="Too many attempts from here or for this account. Try again in {retry} seconds.",
)
