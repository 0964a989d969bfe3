"""The console's blueprint and what every page shares: who is logged in, the
role check on every route, the menu, CSRF, error pages, headers.

Staff sessions do not use Flask-Login (that is the portal's) and live in their
own cookie (``licserver_console``, see ``web.shared.SiteSessions``): the session
keeps ``session["staff"]``, a ``staff:<id>:<stamp>`` id that
``services.staff.load`` checks on every request, so a portal login never opens
/admin and a staff login never opens /portal, and a log-out ends the session
server-side.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from flask import (
    Blueprint,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)

from licserver.domain import staff as rules
from licserver.domain.errors import Forbidden
from licserver.runtime import context
from licserver.services import Actor, Origin
from licserver.services import staff as staff_service
from licserver.services.staff import StaffIdentity
from licserver.web.shared import pages

F = TypeVar("F", bound=Callable[..., Any])

SESSION_KEY = "staff"  # the logged-in staff user's session id
PENDING_KEY = "staff_pending"  # password given, TOTP code still due

bp = Blueprint(
    "staff",
    __name__,
    url_prefix="/admin",
    template_folder="templates",
    static_folder="static",
)


# ---- the menu -----------------------------------------------------------------------


@dataclass(frozen=True)
class NavItem:
    endpoint: str
    label: str
    min_role: str


NAV: list[NavItem] = [NavItem("staff.index", "Search", rules.SUPPORT)]


def add_nav(endpoint: str, label: str, min_role: str = rules.SUPPORT) -> None:
    """Add a link to the console's menu (in call order), shown to ``min_role``
    and above. Call it at import time of the module that defines the view."""
    if min_role not in rules.ROLES:
        raise ValueError(f"min_role must be one of {rules.ROLES}")
    if all(item.endpoint != endpoint for item in NAV):
        NAV.append(NavItem(endpoint, label, min_role))


# ---- who is logged in -----------------------------------------------------------------


def current_staff() -> StaffIdentity:
    """The logged-in staff user (inside a ``staff_required`` view)."""
    ident: StaffIdentity | None = g.get("staff")
    if ident is None:
        raise Forbidden("Log in to the staff console first.")
    return ident


def staff_origin() -> Origin:
    """For events: actor type ``admin``, id ``staff:<email>`` (see
    ``licserver.domain.staff.actor_id``), and the request's address."""
    return Origin(Actor("admin", current_staff().actor_id), request.remote_addr)


def staff_can(action: str) -> bool:
    ident: StaffIdentity | None = g.get("staff")
    return ident is not None and rules.allowed(ident.role, action)


def staff_required(role: str = rules.SUPPORT, *, action: str | None = None) -> Callable[[F], F]:
    """Only logged-in staff of ``role`` or above (and, with ``action``, whose
    role the matrix allows it). Others: to the log-in page, or a 403 page."""

    def decorate(func: F) -> F:
        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            ident: StaffIdentity | None = g.get("staff")
            if ident is None:
                target = request.full_path if request.method == "GET" else None
                return redirect(url_for("staff.login", next=safe_next(target)))
            if not rules.at_least(ident.role, role):
                raise Forbidden(f"Your role ({ident.role}) may not do this; ask an admin.")
            if action is not None:
                rules.check(ident.role, action)
            return func(*args, **kwargs)

        wrapper.staff_role = role  # type: ignore[attr-defined]
        wrapper.staff_action = action  # type: ignore[attr-defined]
        return wrapper  # type: ignore[return-value]

    return decorate


def safe_next(target: str | None) -> str | None:
    """Only a path inside the console: never another site."""
    target = pages.safe_next(target, "/admin/")
    return target.rstrip("?") if target else None


def start_session(ident: StaffIdentity) -> None:
    # A fresh console session: nothing from before carries over.
    session.clear()
    session[SESSION_KEY] = ident.session_id
    g.staff = ident


# ---- every request -----------------------------------------------------------------


def page(status: int, title: str, message: str) -> tuple[str, int]:
    return render_template("staff/message.html", title=title, message=message), status


# Endpoints whose uploads may exceed MAX_CONTENT_LENGTH for admins, and the
# setting that bounds them instead (``allow_large_upload``).
LARGE_UPLOADS: dict[str, str] = {}


def allow_large_upload(endpoint: str, setting: str) -> None:
    """Let an admin's POST to ``endpoint`` be as large as the ``setting`` (bytes)
    plus a megabyte of form; anyone else's stays limited."""
    LARGE_UPLOADS[endpoint] = setting


@bp.before_request
def _upload_limit() -> None:
    # Before the CSRF check below: it reads the form, and so the limit.
    setting = LARGE_UPLOADS.get(request.endpoint or "")
    if setting is None or request.method != "POST":
        return
    sid = session.get(SESSION_KEY)
    ident = staff_service.load(context(), sid) if isinstance(sid, str) else None
    if ident is not None and rules.at_least(ident.role, rules.ADMIN):
        request.max_content_length = int(current_app.config[setting]) + 1024**2


# CSRF on every form (checked before the user is loaded), the console's strict
# CSP, and its error pages.
pages.install(
    bp,
    page,
    csp_header=pages.csp("'self' data:"),
    too_many="Too many attempts. Try again in {retry} seconds.",
    titles={**pages.TITLES, 401: "Not logged in"},
    field_errors=True,
)


@bp.before_request
def _load() -> None:
    g.staff = None
    sid = session.get(SESSION_KEY)
    if isinstance(sid, str):
        g.staff = staff_service.load(context(), sid)
        if g.staff is None:
            session.pop(SESSION_KEY, None)


# What a staff user with a temporary password may still open: the page that
# changes it, log-out, the console's own files.
_WHILE_TEMPORARY = frozenset({"staff.change_password", "staff.logout", "staff.static"})


@bp.before_request
def _temporary_password() -> Any:
    """A password another admin set is changed before anything else (runs after
    _load, which is registered above it)."""
    ident: StaffIdentity | None = g.get("staff")
    if ident is None or not ident.must_change_password:
        return None
    if request.endpoint in _WHILE_TEMPORARY:
        return None
    flash("Choose a password of your own: an admin set the one you logged in with.", "info")
    return redirect(url_for("staff.change_password"), 303)


@bp.context_processor
def _template_globals() -> dict[str, Any]:
    ident: StaffIdentity | None = g.get("staff")
    nav = [i for i in NAV if ident is not None and rules.at_least(ident.role, i.min_role)]
    from licserver.web.shared.forms import ConfirmForm

    return {
        "staff_can": staff_can,
        "staff_rules": rules,
        "me": ident,
        "nav": nav,
        "logout_form": ConfirmForm,
    }
