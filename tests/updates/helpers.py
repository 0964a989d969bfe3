"""Helpers for the update tests: publish releases and activate machines the
way a vendor and a product do, over HTTP."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from typing import Any

import httpx

from licserver.models import utcnow
from tests.support.sdk import ok

__all__ = ["activate", "artifact", "ask", "installer", "offered", "ok", "payload", "release"]


def payload(version: str, platform: str | None = None) -> bytes:
    return f"installer of {version} for {platform or 'any'} ".encode() + secrets.token_bytes(3000)


def release(
    staff: httpx.Client,
    product: str,
    version: str,
    *,
    channel: str = "stable",
    platform: str | None = None,
    arch: str | None = None,
    days_ago: float = 0,
    publish: bool = True,
    data: bytes | None = None,
    **fields: Any,
) -> dict[str, Any]:
    """Upload a release (its file for ``platform``/``arch``) and publish it."""
    form: dict[str, Any] = {"version": version, "channel": channel, **fields}
    form["released_at"] = (utcnow() - timedelta(days=days_ago)).isoformat()
    if platform:
        form["platform"] = platform
    if arch:
        form["arch"] = arch
    body = data if data is not None else payload(version, platform)
    files = {"file": (f"app-{version}.zip", body)}
    made: dict[str, Any] = ok(
        staff.post(f"/api/v1/products/{product}/releases", data=form, files=files), 201
    )
    if publish:
        made = ok(staff.post(f"/api/v1/products/{product}/releases/{version}/publish", json={}))
    return made


def installer(staff: httpx.Client, product: str) -> bytes:
    """1.1.0 (every platform) and 1.2.0 (windows) on stable, 2.0.0-beta.1 on
    beta (windows); the bytes of 1.2.0's file."""
    data = payload("1.2.0", "windows") * 20
    release(staff, product, "1.1.0", days_ago=3)
    release(staff, product, "1.2.0", platform="windows", days_ago=1, data=data)
    release(staff, product, "2.0.0-beta.1", channel="beta", platform="windows")
    return data


def artifact(
    staff: httpx.Client, product: str, version: str, platform: str, arch: str | None = None
) -> dict[str, Any]:
    form = {"platform": platform, **({"arch": arch} if arch else {})}
    files = {"file": (f"app-{version}-{platform}.zip", payload(version, platform))}
    url = f"/api/v1/products/{product}/releases/{version}/artifacts"
    made: dict[str, Any] = ok(staff.post(url, data=form, files=files), 201)
    return made


def activate(http: httpx.Client, license_key: str) -> tuple[str, str]:
    body = ok(
        http.post(
            "/api/v1/activations",
            json={
                "license_key": license_key,
                "installation_id": secrets.token_hex(16),
                "machine_name": "test-pc",
            },
        ),
        201,
    )
    return body["activation_id"], body["activation_token"]


def ask(http: httpx.Client, machine: tuple[str, str], current: str, **kw: Any) -> httpx.Response:
    aid, token = machine
    body = {"activation_id": aid, "activation_token": token, "current_version": current, **kw}
    return http.post("/api/v1/updates", json=body)


def offered(http: httpx.Client, machine: tuple[str, str], current: str, **kw: Any) -> str | None:
    """The version offered, or None."""
    update = ok(ask(http, machine, current, **kw))["update"]
    return None if update is None else str(update["version"])


def iso(when: datetime) -> str:
    return when.isoformat()
