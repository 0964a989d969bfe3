"""Every provider's signature over real HTTP: wrong, missing, stale and
future ones, a rotated secret, and a body that is not JSON (or not the
store's shape) with a valid signature. Nothing is recorded for any of them."""

from __future__ import annotations

import time
from typing import Any

import pytest

from tests.stores import fixtures as f
from tests.stores.helpers import events, make_integration
from tests.support.factory import AdminClient

PAYLOADS = {
    "paddle": lambda: f.paddle_transaction("evt_s1", "txn_s1"),
    "fastspring": lambda: f.fastspring(f.fs_order("fs_s1", "ORD-S1")),
    "generic": lambda: f.generic(
        "g-s1", "order.paid", email="s@example.com", order="S1", items=[{"item": "ruler-pro"}]
    ),
}
WRONG_SHAPE = {
    "paddle": {"event_type": "transaction.completed", "data": {}},
    "fastspring": {"events": "not a list"},
    "generic": {"id": "g-x", "type": "order.shipped"},
}


def _refused(resp: Any, code: str = "SIGNATURE_INVALID") -> None:
    assert resp.status_code == 400, resp.get_json()
    assert resp.headers["Content-Type"].startswith("application/problem+json")
    assert resp.get_json()["code"] == code


@pytest.mark.parametrize("provider", sorted(PAYLOADS))
def test_bad_signatures_record_nothing(
    provider: str, admin: AdminClient, product: str, send: Any
) -> None:
    integ = make_integration(admin, provider)
    body = PAYLOADS[provider]()
    _refused(send(integ, body, secret="not-the-secret"))
    _refused(send(integ, body, headers={"Content-Type": "application/json"}))
    raw = f.dumps(body)
    tampered = f.headers(provider, "whsec_store_test_0123456789", raw)
    _refused(send(integ, None, raw=raw + b" ", headers=tampered))
    if provider != "fastspring":  # FastSpring signs no timestamp
        _refused(send(integ, body, at=int(time.time()) - 301))
        _refused(send(integ, body, at=int(time.time()) + 301))
    assert events(admin, integ) == []

    resp = admin.patch(f"/api/v1/integrations/{integ['id']}", json={"signing_secret": "rotated-1"})
    assert resp.status_code == 200 and "signing_secret" not in resp.get_json()
    _refused(send(integ, body))  # signed with the old one
    assert send(integ, body, secret="rotated-1").status_code == 200
    assert len(events(admin, integ)) == 1


@pytest.mark.parametrize("provider", sorted(PAYLOADS))
def test_malformed_body_with_a_valid_signature(
    provider: str, admin: AdminClient, product: str, send: Any
) -> None:
    integ = make_integration(admin, provider)
    _refused(send(integ, None, raw=b'{"events": [}'), "MALFORMED_REQUEST")
    _refused(send(integ, None, raw=b"\xff\xfe not utf-8"), "MALFORMED_REQUEST")
    _refused(send(integ, WRONG_SHAPE[provider]), "MALFORMED_REQUEST")
    assert events(admin, integ) == []
