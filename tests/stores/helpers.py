"""Helpers of tests/stores (not fixtures): moved out of its conftest so test
modules import them from here."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tests.mail import SmtpServer, smtp_server, with_smtp  # noqa: F401
from tests.support.factory import AdminClient

SECRET = "whsec_store_test_0123456789"


ITEMS = {
    "stripe": "price_ruler_pro",
    "paddle": "pri_01hruler",
    "fastspring": "ruler-pro",
    "generic": "ruler-pro",
}


def make_integration(admin: AdminClient, provider: str, **extra: Any) -> dict[str, Any]:
    resp = admin.post(
        "/api/v1/integrations",
        json={
            "provider": provider,
            "name": f"{provider} shop",
            "signing_secret": SECRET,
            "items": [{"store_item": ITEMS[provider], "product": "ruler", "seats_per_unit": 2}],
            **extra,
        },
    )
    assert resp.status_code == 201, resp.get_json()
    out: dict[str, Any] = resp.get_json()
    return out


Sender = Callable[..., Any]


def licence(admin: AdminClient, lic_id: str) -> dict[str, Any]:
    resp = admin.get(f"/api/v1/licenses/{lic_id}")
    assert resp.status_code == 200
    out: dict[str, Any] = resp.get_json()
    return out


def events(admin: AdminClient, integ: dict[str, Any]) -> list[dict[str, Any]]:
    """The integration's event log, newest first."""
    items: list[dict[str, Any]] = admin.get(
        f"/api/v1/integrations/{integ['id']}/events"
    ).get_json()["items"]
    return items


def outcome(resp: Any) -> str:
    assert resp.status_code == 200, resp.get_json()
    got: str = resp.get_json()["received"][0]["outcome"]
    return got
