"""X-Forwarded-For counts only behind a configured proxy (PROXY_FIX_X_FOR
hops): for the IP in the licence's history and for the per-IP rate limit."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient

from tests.support.factory import AdminClient, Factory

PROXY = "10.0.0.5"


def _refused_ip(client: FlaskClient, admin: AdminClient, factory: Factory, xff: str) -> Any:
    lic = factory.license()
    r = client.post(
        "/api/v1/activations",
        json={
            "license_id": lic.id,
            "activation_password": "wrong",
            "installation_id": "ops-proxy-0001",
            "machine_name": "PC",
        },
        headers={"X-Forwarded-For": xff},
        environ_base={"REMOTE_ADDR": PROXY},
    )
    assert r.status_code == 401
    events = admin.get(f"/api/v1/licenses/{lic.id}/events").get_json()["items"]
    (refused,) = [e for e in events if e["kind"] == "activation.refused"]
    return refused["ip"]


def test_spoofed_forwarded_for_is_ignored_without_a_proxy(
    client: FlaskClient, admin: AdminClient, factory: Factory
) -> None:
    assert _refused_ip(client, admin, factory, "203.0.113.66") == PROXY


def test_one_proxy_hop_uses_the_address_it_appended(
    app_config: dict[str, Any], request: pytest.FixtureRequest
) -> None:
    app_config["PROXY_FIX_X_FOR"] = 1
    client = request.getfixturevalue("client")
    admin = request.getfixturevalue("admin")
    factory = request.getfixturevalue("factory")
    # the client sent a forged header; the proxy appended the address it saw
    assert _refused_ip(client, admin, factory, "198.51.100.1, 203.0.113.66") == "203.0.113.66"


def _keys(client: FlaskClient, xff: str) -> int:
    r = client.get(
        "/api/v1/keys", headers={"X-Forwarded-For": xff}, environ_base={"REMOTE_ADDR": PROXY}
    )
    return r.status_code


@pytest.mark.parametrize("hops", [0, 1])
def test_rate_limit_counts_the_trusted_address(
    hops: int, app_config: dict[str, Any], request: pytest.FixtureRequest
) -> None:
    app_config.update(RATE_LIMITS="on", CLIENT_RATE_LIMIT="3 per minute", PROXY_FIX_X_FOR=hops)
    client = request.getfixturevalue("client")
    assert [_keys(client, "203.0.113.1") for _ in range(3)] == [200, 200, 200]
    assert _keys(client, "203.0.113.1") == 429
    # another client behind the proxy: its own budget only when the proxy is trusted;
    # otherwise every forged address is still the one peer that is out of budget
    assert _keys(client, "203.0.113.2") == (200 if hops else 429)
