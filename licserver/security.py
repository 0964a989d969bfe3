"""Response headers and other protections applied to every response.

- Every response (API, portal, staff console, health checks) gets
  ``X-Content-Type-Options: nosniff``, ``Referrer-Policy: no-referrer``,
  ``X-Frame-Options: DENY``, a Content-Security-Policy (a blueprint may set its
  own, stricter one first: the portal does), ``Cache-Control: no-store`` unless
  the view set its own caching (static files do), and, when ``HSTS`` is on,
  ``Strict-Transport-Security``.
- Credentials are never taken from a query string: a request whose query
  string carries a parameter named like a secret (``token``,
  ``access_token``...) has the value replaced by ``[redacted]`` before the
  application (and any request log, which reads the same WSGI environ,
  gunicorn's access log included) sees it; the admin API then answers 401 as
  for any request without a token. The single-use tokens in the portal's
  invitation and reset links are in the path, where routing needs them; only
  the raw request line that access logs print (``RAW_URI``/``REQUEST_URI``)
  is redacted for them. ``redact_text`` does the same for any text holding
  URLs (a Referer header, a whole log line): gunicorn's access log goes
  through it (licserver.gunicorn_logging).

docs/security.md explains each choice.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qsl, urlencode

from flask import Flask, Response, request

# default-src 'self': the staff console and any other server-rendered page may
# load their own scripts, styles and images, nothing inline and nothing foreign.
# Violations are reported to POST /csp-report (licserver.web.csp_report): the
# Reporting API's report-to (named by Reporting-Endpoints) and, for browsers
# without it, report-uri.
CSP_REPORTING = "report-uri /csp-report; report-to csp"
REPORTING_ENDPOINTS = 'csp="/csp-report"'
DEFAULT_CSP = (
    "default-src 'self'; object-src 'none'; frame-ancestors 'none'; base-uri 'none'; "
    "form-action 'self'; " + CSP_REPORTING
)
HSTS_VALUE = "max-age=31536000"

# Query parameters that must never carry a credential (compared lower-case).
SECRET_PARAMS = frozenset(
    {
        "token",
        "access_token",
        "admin_token",
        "activation_token",
        "api_key",
        "apikey",
        "auth",
        "authorization",
        "bearer",
        "password",
        "activation_password",
        "company_password",
        "license_key",
        "secret",
    }
)
REDACTED = "[redacted]"
# Links that carry a token in their path (portal invitations, resets, download
# links, the client API's update download links).
_TOKEN_PREFIXES = ("/portal/", "/api/v1/updates/download/")
_TOKEN_LINK = r"(/portal/(?:invitation|reset|downloads/file)/|/api/v1/updates/download/[^/?#\s]+/)"
_TOKEN_PATH = re.compile(r"^" + _TOKEN_LINK + r"[^/?#]+")
# The same anywhere in a text (a full URL in a Referer, a log line).
_TOKEN_IN_TEXT = re.compile(_TOKEN_LINK + r"[^/?#\s\"']+")
_SECRET_IN_TEXT = re.compile(
    r"([?&;](?:" + "|".join(sorted(SECRET_PARAMS)) + r")=)[^&#\s\"']*", re.IGNORECASE
)
# The raw request line's target, as servers put it in the environ for access logs.
_RAW_KEYS = ("RAW_URI", "REQUEST_URI")
# The request target as sent, kept in the environ before it is redacted: the
# signature of a client-API answer covers it (licserver.api.answers).
ORIGINAL_TARGET = "licserver.request_target"

StartResponse = Callable[..., Any]
WSGIApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


# The headers every response gets unless a hook or view set them first:
# (lower-case name for the lookup, name, value).
_DEFAULT_HEADERS = (
    ("content-security-policy", "Content-Security-Policy", DEFAULT_CSP),
    ("x-content-type-options", "X-Content-Type-Options", "nosniff"),
    ("x-frame-options", "X-Frame-Options", "DENY"),
    # no-referrer: the tokens in invitation and reset URLs would otherwise be
    # sent as the Referer of the page's own CSS and of the next page, into
    # every access log. The sites check where a form post comes from without
    # it (web.shared.origin).
    ("referrer-policy", "Referrer-Policy", "no-referrer"),
    ("reporting-endpoints", "Reporting-Endpoints", REPORTING_ENDPOINTS),
)
_HSTS_HEADER = ("strict-transport-security", "Strict-Transport-Security", HSTS_VALUE)


def init_app(app: Flask) -> None:
    """Install the response hooks and the query-string guard."""
    defaults = _DEFAULT_HEADERS + ((_HSTS_HEADER,) if app.config.get("HSTS") else ())

    @app.after_request
    def _headers(resp: Response) -> Response:
        # Blueprint hooks run before this one: a header they set is kept. One
        # pass over the names present and one extend: Headers.setdefault and
        # ``in`` scan the list (and raise KeyError inside) for every name.
        headers = resp.headers
        present = {name.lower() for name in headers.keys()}
        missing = [(name, value) for low, name, value in defaults if low not in present]
        if "cache-control" not in present and not _is_static():
            # Secrets (keys, activation passwords and tokens, admin tokens) travel
            # in responses; no cache, shared or private, may keep any of them.
            missing.append(("Cache-Control", "no-store"))
        if missing:
            headers.extend(missing)
        return resp

    app.wsgi_app = QueryStringGuard(app.wsgi_app)  # type: ignore[method-assign]


def _is_static() -> bool:
    endpoint = request.endpoint or ""
    return endpoint == "static" or endpoint.endswith(".static")


def redact_query(query: str) -> str | None:
    """The query string with the values of secret-named parameters replaced,
    or None when it has none (the query string is then left byte for byte)."""
    if not query:
        return None
    # Most query strings name no secret: a substring test settles them without
    # parsing. Only a name written with percent-escapes can hide from it.
    low = query.lower()
    if "%" not in low and not any(name in low for name in SECRET_PARAMS):
        return None
    pairs = parse_qsl(query, keep_blank_values=True)
    if not any(name.lower() in SECRET_PARAMS for name, _ in pairs):
        return None
    return urlencode(
        [(n, REDACTED if n.lower() in SECRET_PARAMS else v) for n, v in pairs], safe="[]"
    )


def redact_target(target: str) -> str:
    """A raw request target (path and query) fit for a log line."""
    path, sep, query = target.partition("?")
    path = _TOKEN_PATH.sub(lambda m: m.group(1) + REDACTED, path)
    redacted = redact_query(query) if sep else None
    return f"{path}{sep}{redacted if redacted is not None else query}"


def redact_text(text: str) -> str:
    """``text`` with every token link's token and every secret-named query
    value replaced by ``[redacted]``, wherever the URLs are in it."""
    if "/" not in text and "=" not in text:
        return text
    text = _TOKEN_IN_TEXT.sub(lambda m: m.group(1) + REDACTED, text)
    return _SECRET_IN_TEXT.sub(lambda m: m.group(1) + REDACTED, text)


class QueryStringGuard:
    """WSGI middleware: no secret from a query string reaches the app or a log.

    It edits the environ in place (the server logs from that same dict after
    the response: gunicorn's ``%(r)s``, ``%(U)s``, ``%(q)s``)."""

    def __init__(self, app: WSGIApp) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        query = environ.get("QUERY_STRING")
        if query:
            redacted = redact_query(query)
            if redacted is not None:
                environ["QUERY_STRING"] = redacted
        for key in _RAW_KEYS:
            raw = environ.get(key)
            # redact_target changes only a query string or a token link's path
            if isinstance(raw, str) and ("?" in raw or raw.startswith(_TOKEN_PREFIXES)):
                # the target as sent, for signed answers (licserver.api.answers)
                environ.setdefault(ORIGINAL_TARGET, raw)
                environ[key] = redact_target(raw)
        return self.app(environ, start_response)
