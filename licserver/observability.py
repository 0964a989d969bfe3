"""Request IDs, structured logs and Prometheus metrics.

- **Request ID.** A request's ``X-Request-ID`` is kept when it is 1..128 of
  ``A-Za-z0-9._:-`` (a proxy's or a client's own id), else a new random one is
  made. Every response carries it back in ``X-Request-ID``; every
  problem+json body carries it as ``request_id``; every log record made while
  serving the request has it as ``record.request_id`` (in JSON logs, a field).
- **Logs.** ``LOG_FORMAT = "json"`` turns licserver's log lines into one JSON
  object per line and adds one ``licserver.access`` line per request (method,
  route, status, duration, client ip, request id). ``"text"`` leaves the
  plain lines; gunicorn's access log covers requests then
  (``%({x-request-id}o)s`` prints the id).
- **Metrics** at ``/metrics`` (``METRICS_ENABLED``, optional bearer
  ``METRICS_TOKEN``): requests by method, route and status, latency
  histograms by route, activations created or reused, refusals by error code.
  With ``PROMETHEUS_MULTIPROC_DIR`` set (several gunicorn workers), every
  worker writes its counts there and ``/metrics`` adds them all up; the
  gunicorn hooks ``on_starting`` and ``child_exit`` below keep that folder
  right (README, Deployment).
"""

from __future__ import annotations

import hmac
import json
import logging
import os
import re
import secrets
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from flask import Flask, Response, current_app, g, has_request_context, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    disable_created_metrics,
    generate_latest,
    multiprocess,
)

from licserver.config import ConfigError

REQUEST_ID_HEADER = "X-Request-ID"
_REQUEST_ID_RE = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
_PROBLEM_JSON = "application/problem+json"
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
_ACTIVATE_RULE = "/api/v1/activations"
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"

# The *_created series (when each label set was first seen) are noise here.
disable_created_metrics()  # type: ignore[no-untyped-call]

# One registry per process for the metrics themselves (a fresh app in tests
# reuses them: counts only grow). In multiprocess mode the values live in
# files under PROMETHEUS_MULTIPROC_DIR and are collected from there instead.
REGISTRY = CollectorRegistry(auto_describe=True)
REQUESTS = Counter(
    "licserver_http_requests_total",
    "HTTP requests answered, by method, route template and status.",
    ["method", "route", "status"],
    registry=REGISTRY,
)
LATENCY = Histogram(
    "licserver_http_request_duration_seconds",
    "Time to answer a request, by method and route template.",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
    registry=REGISTRY,
)
ACTIVATIONS = Counter(
    "licserver_activations_total",
    "Activations answered by POST /api/v1/activations: created (201, a seat) or reused (200).",
    ["result"],
    registry=REGISTRY,
)
REFUSALS = Counter(
    "licserver_refusals_total",
    "Problem answers (API and health endpoints), by their stable error code.",
    ["code"],
    registry=REGISTRY,
)

log = logging.getLogger(__name__)
access_log = logging.getLogger("licserver.access")


def init_app(app: Flask) -> None:
    """Install the request hooks, the /metrics endpoint and the log format."""
    fmt = str(app.config["LOG_FORMAT"]).strip().lower()
    if fmt not in {"text", "json"}:
        raise ConfigError(f"LOG_FORMAT must be 'text' or 'json', not {app.config['LOG_FORMAT']!r}")
    app.config["LOG_FORMAT"] = fmt
    _configure_logs(fmt == "json")
    app.extensions["licserver.json_logs"] = fmt == "json"

    # First of all before_request hooks: the rate limiter's 429 has an id too.
    app.before_request_funcs.setdefault(None, []).insert(0, _start)
    json_logs = fmt == "json"

    def _finish_request(resp: Response) -> Response:
        return _finish(resp, json_logs)

    app.after_request(_finish_request)
    if app.config["METRICS_ENABLED"]:
        app.add_url_rule("/metrics", "metrics", _metrics_view, methods=["GET"])


# ---- request id -------------------------------------------------------------


def request_id() -> str | None:
    """The current request's id (None outside a request)."""
    if not has_request_context():
        return None
    rid: str | None = g.get("request_id")
    if rid is None:
        rid = g.request_id = _incoming_or_new(request.headers.get(REQUEST_ID_HEADER))
    return rid


def _incoming_or_new(incoming: str | None) -> str:
    if incoming and _REQUEST_ID_RE.match(incoming):
        return incoming
    return secrets.token_hex(16)


# The incoming header in the WSGI environ: read there, not through
# request.headers (which builds the key and looks it up on every call).
_REQUEST_ID_ENVIRON = "HTTP_" + REQUEST_ID_HEADER.upper().replace("-", "_")


def _start() -> None:
    ctx_g = g._get_current_object()  # one proxy lookup, not many
    ctx_g.request_started = time.perf_counter()
    environ = request.environ
    ctx_g.request_id = _incoming_or_new(environ.get(_REQUEST_ID_ENVIRON))


# (method, route, status) -> the labelled counter and histogram: labels() is
# costly for every request. Bounded: routes are templates, methods a fixed set.
_SERIES: dict[tuple[str, str, int], tuple[Any, Any]] = {}


def _series(method: str, rule: str, status: int) -> tuple[Any, Any]:
    key = (method, rule, status)
    found = _SERIES.get(key)
    if found is None:
        found = _SERIES[key] = (
            REQUESTS.labels(method, rule, str(status)),
            LATENCY.labels(method, rule),
        )
    return found


def _finish(resp: Response, json_logs: bool) -> Response:
    req = request._get_current_object()  # type: ignore[attr-defined]
    ctx_g = g._get_current_object()
    rid = ctx_g.get("request_id")
    if rid is None:  # a hook before ours answered (none should)
        rid = ctx_g.request_id = _incoming_or_new(req.environ.get(_REQUEST_ID_ENVIRON))
    headers = resp.headers
    headers[REQUEST_ID_HEADER] = rid
    code = None
    # the raw header first: parsing it (resp.mimetype) only for a likely problem
    ctype = headers.get("Content-Type", "")
    if (
        ctype[: len(_PROBLEM_JSON)].lower() == _PROBLEM_JSON
        and resp.mimetype == _PROBLEM_JSON
        and not resp.direct_passthrough
    ):
        code = _stamp_problem(resp, rid)
    started = ctx_g.get("request_started")
    elapsed = time.perf_counter() - started if started is not None else 0.0
    rule = req.url_rule.rule if req.url_rule is not None else "<unmatched>"
    method = req.method if req.method in _METHODS else "OTHER"
    status = resp.status_code
    count, latency = _series(method, rule, status)
    count.inc()
    latency.observe(elapsed)
    if code is not None:
        REFUSALS.labels(code).inc()
    elif rule == _ACTIVATE_RULE and method == "POST" and status in (200, 201):
        ACTIVATIONS.labels("created" if status == 201 else "reused").inc()
    if json_logs:
        from licserver.security import redact_target

        path = redact_target(req.path)  # invitation and reset links carry a token
        access_log.info(
            "%s %s %s",
            method,
            path,
            status,
            extra={
                "method": method,
                "path": path,
                "route": rule,
                "status": status,
                "duration_ms": round(elapsed * 1000, 2),
                "ip": req.remote_addr,
            },
        )
    return resp


def _stamp_problem(resp: Response, rid: str) -> str | None:
    """Put ``request_id`` into a problem+json body; return its ``code``."""
    try:
        body = json.loads(resp.get_data())
    except ValueError:
        return None
    if not isinstance(body, dict):
        return None
    body["request_id"] = rid
    resp.set_data(json.dumps(body, ensure_ascii=False) + "\n")
    code = body.get("code")
    return code if isinstance(code, str) else None


# ---- metrics ----------------------------------------------------------------


def _metrics_view() -> Response:
    token = str(current_app.config["METRICS_TOKEN"])
    if token:
        given = request.headers.get("Authorization", "")
        if not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
            return Response(
                "metrics need Authorization: Bearer <METRICS_TOKEN>\n",
                status=401,
                mimetype="text/plain",
                headers={"WWW-Authenticate": 'Bearer realm="metrics"'},
            )
    return Response(generate_latest(_exposed_registry()), content_type=CONTENT_TYPE_LATEST)


def _exposed_registry() -> CollectorRegistry:
    if os.environ.get(MULTIPROC_ENV):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return registry
    return REGISTRY


def on_starting(server: Any) -> None:
    """gunicorn hook: empty PROMETHEUS_MULTIPROC_DIR of the last run's files."""
    folder = os.environ.get(MULTIPROC_ENV)
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        for path in Path(folder).glob("*.db"):
            path.unlink(missing_ok=True)


def child_exit(server: Any, worker: Any) -> None:
    """gunicorn hook: a worker that exited stops counting as live."""
    if os.environ.get(MULTIPROC_ENV):
        multiprocess.mark_process_dead(worker.pid)  # type: ignore[no-untyped-call]


# ---- logs -------------------------------------------------------------------


class RequestIdFilter(logging.Filter):
    """Gives every record a ``request_id`` (None outside a request)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = request_id()
        return True


_STANDARD_ATTRS = frozenset(
    vars(logging.LogRecord("", 0, "", 0, "", None, None)).keys() | {"message", "asctime"}
)


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts, level, logger, msg, request_id, and the
    record's extra fields."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
            "request_id": getattr(record, "request_id", None),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD_ATTRS and key not in out:
                out[key] = value
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return json.dumps(out, ensure_ascii=False, default=str)


_OURS = "_licserver_json"


def _configure_logs(json_lines: bool) -> None:
    """The handlers licserver's logger has (the one ``create_app`` adds when
    nothing else set logging up) get the request id, and JSON lines when asked.
    A deployment's own logging config (gunicorn --log-config) can use
    ``%(request_id)s`` and ``licserver.observability.JsonFormatter``."""
    logger = logging.getLogger("licserver")
    for handler in logger.handlers:
        if not any(isinstance(f, RequestIdFilter) for f in handler.filters):
            handler.addFilter(RequestIdFilter())
        if json_lines and not getattr(handler, _OURS, False):
            setattr(handler, _OURS, handler.formatter or True)
            handler.setFormatter(JsonFormatter())
        elif not json_lines and getattr(handler, _OURS, False):
            previous = getattr(handler, _OURS)
            handler.setFormatter(previous if isinstance(previous, logging.Formatter) else None)
            setattr(handler, _OURS, False)
