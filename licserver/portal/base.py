"""The portal's blueprint and what every page shares: who is logged in, the
matrix check on every route, rate limits, error pages, security headers."""

from __future__ import annotations

import functools
import math
import time
from collections.abc import Callable
from typing import Any, TypeVar

from flask import (
    Blueprint,
    Response,
    current_app,
    g,
    make_response,
    render_template,
    request,
)
from flask_login import UserMixin, current_user, login_required
from flask_wtf.csrf import CSRFError
from limits import parse_many
from werkzeug.exceptions import TooManyRequests

from licserver.domain import portal as rules
from licserver.domain.errors import Forbidden, LicenseServerError, NotFound
from licserver.domain.portal import Principal
from licserver.extensions import db
from licserver.portal import csrf, login_manager
from licserver.runtime import deps
from licserver.services import Actor, Deps, Origin
from licserver.services import portal_auth as auth_service
from licserver.services.mail import MailSettings
from licserver.services.notices import Mailer
from licserver.services.portal_auth import Identity

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
    ident = auth_service.load(db.session(), session_id)
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


def service_deps() -> Deps:
    return deps()


def origin() -> Origin:
    return Origin(Actor("user", me().actor_id), request.remote_addr)


def mailer() -> Mailer:
    cfg = current_app.config
    return Mailer(MailSettings.from_config(cfg, current_app.instance_path), cfg["PUBLIC_URL"])


def safe_next(target: str | None) -> str | None:
    """Only a path inside the portal: never another site."""
    if not target or not target.startswith("/portal/") or target.startswith("//"):
        return None
    if "\\" in target or any(ord(c) < 32 for c in target):
        return None
    return target


# ---- rate limits ------------------------------------------------------------------


def _limiter() -> Any:
    return current_app.extensions["licserver.limiter"]


def _items(setting: str) -> list[Any]:
    return list(parse_many(str(current_app.config[setting])))


def limit_exceeded(setting: str, scope: str, key: str, *, hit: bool) -> None:
    """Count (``hit``) or only look at (``hit=False``) a limit; 429 when it is
    spent. Off with RATE_LIMITS=off. Keys are lower-cased so "A@x" and "a@x"
    share one allowance."""
    limiter = _limiter()
    if not limiter.enabled:
        return
    strategy = limiter.limiter
    key = key.strip().lower()[:300]
    for item in _items(setting):
        ok = (
            strategy.hit(item, "portal", scope, key)
            if hit
            else strategy.test(item, "portal", scope, key)
        )
        if not ok:
            stats = strategy.get_window_stats(item, "portal", scope, key)
            g.portal_retry_after = max(1, math.ceil(stats.reset_time - time.time()))
            raise TooManyRequests()


def per_ip() -> None:
    limit_exceeded("PORTAL_IP_LIMIT", "ip", request.remote_addr or "-", hit=True)


# ---- every request --------------------------------------------------------------


@bp.before_request
def _csrf() -> None:
    if request.method not in ("GET", "HEAD", "OPTIONS"):
        csrf.protect()


_CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
)


@bp.after_request
def _headers(resp: Response) -> Response:
    # The portal's own, stricter policy; licserver.security adds the headers every
    # response gets (nosniff, Referrer-Policy, no-store, HSTS...).
    resp.headers["Content-Security-Policy"] = _CSP
    return resp


@bp.app_context_processor
def _template_globals() -> dict[str, Any]:
    return {"can": can, "rules": rules}


def page(status: int, title: str, message: str) -> tuple[str, int]:
    return render_template("portal/message.html", title=title, message=message), status


_TITLES = {
    400: "Bad request",
    403: "Not allowed",
    404: "Not found",
    409: "Not possible",
    422: "Not valid",
}


@bp.errorhandler(LicenseServerError)
def _domain_error(exc: LicenseServerError) -> Any:
    status = exc.status if exc.status < 500 else 500
    if isinstance(exc, NotFound):
        # Services word it the same for "absent" and "another account's".
        return page(404, "Not found", exc.detail)
    return page(status, _TITLES.get(status, "Error"), exc.detail)


@bp.errorhandler(CSRFError)
def _csrf_error(exc: CSRFError) -> Any:
    return page(
        400,
        "Form expired",
        "The form was too old or did not come from this site. Go back, reload it and try again.",
    )


@bp.errorhandler(429)
def _too_many(exc: Exception) -> Any:
    retry = int(g.get("portal_retry_after", 60))
    resp = make_response(
        page(
            429,
            "Too many attempts",
            f"Too many attempts from here or for this account. Try again in {retry} seconds.",
        )
    )
    resp.headers["Retry-After"] = str(retry)
    return resp
