"""What the customer portal and the staff console share as HTML sites: safe
``next`` targets, rate limits, the content security policy, the error pages,
and the ``field`` form macro (``licserver/web/shared/templates/pages/_field.html``, in the
app's own template folder; ``portal/_field.html`` and ``staff/_field.html`` name it).

Each site keeps its own blueprint, template and wording; ``install`` adds the
shared handlers to a blueprint."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from flask import Blueprint, Response, current_app, g, make_response, request
from flask_wtf.csrf import CSRFError
from limits import parse_many
from werkzeug.exceptions import TooManyRequests

from licserver.domain.errors import (
    InvalidCredentials,
    LicenseServerError,
    NotFound,
    ValidationFailed,
)
from licserver.security import CSP_REPORTING
from licserver.web.shared import csrf
from licserver.web.shared.origin import check_same_origin

T = TypeVar("T")


TITLES: Mapping[int, str] = {
    400: "Bad request",
    403: "Not allowed",
    404: "Not found",
    409: "Not possible",
    422: "Not valid",
}

FORM_EXPIRED = (
    "The form was too old or did not come from this site. Go back, reload it and try again."
)


def safe_next(target: str | None, prefix: str) -> str | None:
    """Only a path under ``prefix`` (``/portal/``, ``/admin/``): never another site."""
    if not target or not target.startswith(prefix) or target.startswith("//"):
        return None
    if "\\" in target or any(ord(c) < 32 for c in target):
        return None
    return target


def csp(img_src: str = "'self'") -> str:
    """The pages' strict Content-Security-Policy (licserver.security adds the
    headers every response gets: nosniff, Referrer-Policy, no-store, HSTS...)."""
    return (
        f"default-src 'none'; style-src 'self'; img-src {img_src}; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'; object-src 'none'; " + CSP_REPORTING
    )


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


def check_login(scope: str, account: str, attempt: Callable[[], T]) -> T | None:
    """``attempt()`` (a credential check) under PORTAL_LOGIN_LIMIT for
    ``account``: a spent allowance answers 429 before the password is looked at,
    and a wrong one (InvalidCredentials) counts against it and gives None."""
    limit_exceeded("PORTAL_LOGIN_LIMIT", scope, account, hit=False)
    try:
        return attempt()
    except InvalidCredentials:
        limit_exceeded("PORTAL_LOGIN_LIMIT", scope, account, hit=True)
        return None


# ---- every request, error pages ---------------------------------------------------


def install(
    bp: Blueprint,
    page: Callable[[int, str, str], tuple[str, int]],
    *,
    csp_header: str,
    too_many: str,
    titles: Mapping[int, str] = TITLES,
    field_errors: bool = False,
) -> None:
    """Give ``bp`` CSRF checks on unsafe methods, ``csp_header``, and error pages
    drawn by ``page(status, title, message)``: domain errors (with
    ``field_errors``, a ValidationFailed lists its fields), an expired form, and
    429 (``too_many`` is formatted with ``retry``, in seconds, and Retry-After set)."""

    def protect() -> None:
        if request.method not in ("GET", "HEAD", "OPTIONS"):
            check_same_origin()
            csrf.protect()

    def headers(resp: Response) -> Response:
        resp.headers["Content-Security-Policy"] = csp_header
        return resp

    def domain_error(exc: LicenseServerError) -> Any:
        status = exc.status if exc.status < 500 else 500
        if isinstance(exc, NotFound):
            # Services word it the same for "absent" and "another account's".
            return page(404, "Not found", exc.detail)
        detail = exc.detail
        if field_errors and isinstance(exc, ValidationFailed) and exc.errors:
            detail += "\n" + "\n".join(f"{k}: {' '.join(v)}" for k, v in exc.errors.items())
        return page(status, titles.get(status, "Error"), detail)

    def csrf_error(exc: CSRFError) -> Any:
        return page(400, "Form expired", FORM_EXPIRED)

    def too_many_requests(exc: Exception) -> Any:
        retry = int(g.get("portal_retry_after", 60))
        resp = make_response(page(429, "Too many attempts", too_many.format(retry=retry)))
        resp.headers["Retry-After"] = str(retry)
        return resp

    bp.before_request(protect)
    bp.after_request(headers)
    bp.register_error_handler(LicenseServerError, domain_error)
    bp.register_error_handler(CSRFError, csrf_error)
    bp.register_error_handler(429, too_many_requests)
