"""The Python SDK's conformance driver (client_sdk/conformance/DRIVER.md): one
JSON request on stdin, one SDK call, one JSON answer on stdout.

    python client_sdk/python/conformance_driver.py < request.json
"""

from __future__ import annotations

import json
import sys
from datetime import datetime
from typing import Any

from licclient import LicenseClient, LicenseError, RateLimited, ServerUnavailable, Status


def _seconds(when: datetime | None) -> int | None:
    return None if when is None else round(when.timestamp())


def status_json(s: Status) -> dict[str, Any]:
    return {
        "valid": s.valid,
        "code": s.code,
        "license_id": s.license_id,
        "expires_at": _seconds(s.expires_at),
        "offline_until": _seconds(s.offline_until),
        "features": list(s.features),
    }


def error_json(exc: LicenseError) -> dict[str, Any]:
    code = exc.code or "LICENSE_ERROR"
    if isinstance(exc, ServerUnavailable):
        code = "NETWORK_ERROR"
    elif isinstance(exc, RateLimited):
        code = "RATE_LIMITED"
    return {
        "code": code,
        "http_status": exc.status,
        "detail": exc.detail,
        "class": type(exc).__name__,
    }


def call(client: LicenseClient, op: str, args: dict[str, Any]) -> Any:
    if op in ("installation_id", "status"):
        return None
    if op == "activate":
        return client.activate(**args)
    if op == "checkin":
        return client.checkin()
    if op == "deactivate":
        return client.deactivate()
    if op == "has_feature":
        return client.has_feature(args["name"])
    raise SystemExit(f"unknown op {op!r}")


def main() -> None:
    req = json.load(sys.stdin)
    clock = req.get("clock")
    timeout_ms = req.get("timeout_ms")
    client = LicenseClient(
        req["server_url"],
        product=req["product"],
        public_keys=req["public_keys"],
        state_dir=req["state_dir"],
        installation_id=req.get("installation_id"),
        clock=(lambda: float(clock)) if clock is not None else __import__("time").time,
        timeout=(timeout_ms / 1000) if timeout_ms else 10.0,
        fingerprints=False,
    )
    answer: dict[str, Any] = {"ok": True, "installation_id": client.installation_id}
    answer["has_feature"] = None
    answer["error"] = None
    try:
        result = call(client, req["op"], req.get("args") or {})
        if req["op"] == "has_feature":
            answer["has_feature"] = result
    except LicenseError as exc:
        answer["ok"] = False
        answer["error"] = error_json(exc)
    answer["status"] = status_json(client.status())
    json.dump(answer, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
