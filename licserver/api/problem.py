"""The one translator: domain errors, HTTP errors, validation errors and
database failures become application/problem+json under /api/ (and for the
health endpoints); nothing under /api/ is ever an HTML page or a traceback."""

from __future__ import annotations

import http
import logging
import math
import time
from typing import Any

import marshmallow as ma
from flask import Flask, Response, json, request
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from werkzeug.exceptions import HTTPException

from licserver.domain import errors as E
from licserver.extensions import db

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"

# HTTP statuses raised by Flask/werkzeug itself, mapped onto our codes.
_HTTP_CODES: dict[int, type[E.LicenseServerError]] = {
    400: E.MalformedRequest,
    401: E.Unauthorized,
    403: E.Forbidden,
    404: E.NotFound,
    405: E.MethodNotAllowed,
    409: E.Conflict,
    413: E.PayloadTooLarge,
    415: E.MalformedRequest,
    422: E.ValidationFailed,
    429: E.RateLimited,
}


class ProblemSchema(ma.Schema):
    """RFC 9457 problem details, with our stable ``code``."""

    class Meta:
        # RFC 9457 extension members (license_id, request_id...) may be added:
        # the document says so (additionalProperties), clients must allow them.
        unknown = ma.INCLUDE

    type = ma.fields.String(metadata={"example": "about:blank"})
    title = ma.fields.String()
    status = ma.fields.Integer()
    code = ma.fields.String(metadata={"description": "Stable error code (API.md)."})
    detail = ma.fields.String()
    errors = ma.fields.Dict(
        keys=ma.fields.String(),
        values=ma.fields.List(ma.fields.String()),
        metadata={"description": "Per-field messages, with VALIDATION_FAILED only."},
    )


def problem(
    status: int,
    code: str,
    title: str,
    detail: str,
    *,
    errors: dict[str, list[str]] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": title,
        "status": status,
        "code": code,
        "detail": detail,
    }
    if errors is not None:
        body["errors"] = errors
    resp = Response(json.dumps(body) + "\n", status=status, mimetype=PROBLEM_JSON)
    for name, value in (headers or {}).items():
        resp.headers[name] = value
    return resp


def from_error(exc: E.LicenseServerError) -> Response:
    headers: dict[str, str] = {}
    errors = None
    if isinstance(exc, E.ValidationFailed):
        errors = exc.errors
    if isinstance(exc, E.RateLimited | E.DeactivationLimitReached):
        headers["Retry-After"] = str(exc.retry_after)
    if isinstance(exc, E.Unauthorized):
        headers["WWW-Authenticate"] = 'Bearer realm="licserver"'
    return problem(exc.status, exc.code, exc.title, exc.detail, errors=errors, headers=headers)


def from_http_exception(exc: HTTPException) -> Response:
    status = exc.code or 500
    cls: type[E.LicenseServerError] | None = _HTTP_CODES.get(status)
    headers: dict[str, str] = {}
    if exc.response is not None and "Retry-After" in exc.response.headers:
        headers["Retry-After"] = exc.response.headers["Retry-After"]
    if status == 405 and exc.get_headers():
        allow = dict(exc.get_headers()).get("Allow")
        if allow:
            headers["Allow"] = allow
    if cls is None:
        phrase = (
            http.HTTPStatus(status).phrase
            if status in http.HTTPStatus._value2member_map_
            else "Error"
        )
        code = "SERVICE_UNAVAILABLE" if status == 503 else "INTERNAL_ERROR"
        return problem(status, code, phrase, exc.description or phrase, headers=headers)
    detail = exc.description or cls.title
    if status == 429:
        headers.setdefault("Retry-After", _limiter_retry_after())
        detail = "Too many requests; slow down."
    if status == 413:
        detail = f"The request body is larger than the limit of {_limit()} bytes."
    errors: dict[str, list[str]] | None = {} if status == 422 else None
    return problem(status, cls.code, cls.title, detail, errors=errors, headers=headers)


def _limiter_retry_after() -> str:
    """Seconds until the breached per-IP window lets a request through again."""
    from flask import current_app

    limiter = current_app.extensions.get("licserver.limiter")
    current = limiter.current_limit if limiter is not None else None
    if current is None:
        return "60"
    return str(max(1, math.ceil(current.reset_at - time.time())))


def _limit() -> int:
    from flask import current_app

    return int(current_app.config["MAX_CONTENT_LENGTH"])


def _wants_problem() -> bool:
    path = request.path
    return path.startswith("/api/") or path in ("/healthz", "/readyz")


def register(app: Flask) -> None:
    @app.errorhandler(E.LicenseServerError)
    def _domain(exc: E.LicenseServerError) -> Response:
        return from_error(exc)

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException) -> Any:
        if _wants_problem():
            return from_http_exception(exc)
        return exc

    @app.errorhandler(OperationalError)
    @app.errorhandler(PoolTimeout)
    def _db_down(exc: Exception) -> Response:
        _rollback()
        log.warning("database unavailable: %s", type(exc).__name__)
        if not _wants_problem():  # a portal page: a page a person can read
            return _unavailable_page()
        return problem(
            503,
            "SERVICE_UNAVAILABLE",
            "Service unavailable",
            "The database is unavailable; nothing was changed. Try again shortly.",
            headers={"Retry-After": "5"},
        )

    if app.config["REDIS_URL"]:  # else nothing here talks to Redis (nor imports it)
        from redis.exceptions import RedisError

        app.register_error_handler(RedisError, _limits_down)

    @app.errorhandler(DBAPIError)
    def _db_error(exc: DBAPIError) -> Any:
        _rollback()
        if exc.connection_invalidated:
            return _db_down(exc)
        log.exception("database error")
        return _internal()

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> Any:
        if isinstance(exc, HTTPException):
            return _http(exc)
        _rollback()
        log.exception("unhandled error on %s %s", request.method, request.path)
        if _wants_problem():
            return _internal()
        return Response("Internal server error", status=500, mimetype="text/plain")


def _unavailable_page(what: str = "its database") -> Response:
    body = (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        "<title>Temporarily unavailable</title></head><body>"
        "<h1>Temporarily unavailable</h1>"
        f"<p>The licence portal cannot reach {what} just now; nothing was changed. "
        "Please try again in a minute.</p></body></html>\n"
    )
    return Response(body, status=503, mimetype="text/html", headers={"Retry-After": "5"})


def _internal() -> Response:
    return problem(
        500,
        "INTERNAL_ERROR",
        "Internal error",
        "The server could not complete the request; nothing was changed.",
    )


def _rollback() -> None:
    try:
        db.session.rollback()
    except Exception:  # the connection itself may be gone
        log.debug("rollback after error failed", exc_info=True)


def _limits_down(exc: Exception) -> Response:
    log.warning("rate-limit store unavailable: %s", type(exc).__name__)
    if not _wants_problem():  # the portal's log-in and reset forms: a readable page
        return _unavailable_page("its rate-limit store")
    return problem(
        503,
        "SERVICE_UNAVAILABLE",
        "Service unavailable",
        "The rate-limit store is unavailable; nothing was changed.",
        headers={"Retry-After": "5"},
    )
