"""Store integration fixtures: a product, an integration per provider with
its secret set, and a sender that signs bodies the store's way."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.conftest import AdminClient, Factory
from tests.mail import SmtpServer, smtp_server, with_smtp  # noqa: F401
from tests.stores import fixtures as f

SECRET = "whsec_store_test_0123456789"
ITEMS = {
    "stripe": "price_ruler_pro",
    "paddle": "pri_01hruler",
    "fastspring": "ruler-pro",
    "generic": "ruler-pro",
}


@pytest.fixture
def smtp(app_config: dict[str, Any], smtp_server: SmtpServer) -> SmtpServer:  # noqa: F811
    with_smtp(app_config, smtp_server)
    return smtp_server


@pytest.fixture
def product(factory: Factory) -> str:
    return factory.product("ruler", name="Ruler")


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


@pytest.fixture
def send(client: Any) -> Callable[[dict[str, Any], dict[str, Any]], Any]:
    def _send(
        integ: dict[str, Any],
        payload: Any,
        *,
        secret: str = SECRET,
        at: int | None = None,
        raw: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> Any:
        body = raw if raw is not None else f.dumps(payload)
        hdrs = headers if headers is not None else f.headers(integ["provider"], secret, body, at)
        return client.post(f"/api/v1/integrations/{integ['id']}/events", data=body, headers=hdrs)

    return _send  # type: ignore[return-value]
