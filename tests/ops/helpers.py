"""Rows and small readers shared by the operations tests."""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from typing import Any

import httpx

from licserver.crypto import b64u_decode
from licserver.runtime import context
from licserver.services import Actor, Origin
from licserver.services import customers as customer_service
from licserver.services import licenses as license_service
from licserver.services import products as product_service
from licserver.services import tokens as token_service

ORIGIN = Origin(Actor("admin", "ops-tests"))


@dataclass
class Issued:
    id: str
    key: str
    activation_password: str
    product: str
    customer: str


def issue_licence(seats: int = 5) -> Issued:
    """A product, a customer and a licence, in the current app's database (names
    of their own: the tests here share one database)."""
    product = f"ops-{secrets.token_hex(4)}"
    product_service.create(context(), code=product, name="Ops App")
    cust, _ = customer_service.create(
        context(),
        name="Ops Ltd",
        email=f"owner@{product}.test",
        company_password=None,
        invitation_ttl_hours=72,
    )
    lic, sec = license_service.create(
        context(), ORIGIN, product=product, customer=cust.number, seats=seats
    )
    return Issued(lic.public_id, sec.key, sec.activation_password, product, cust.number)


def admin_token() -> str:
    _, token = token_service.create(context(), f"ops-{secrets.token_hex(4)}", "full")
    return token


def kid_of(token: str) -> str:
    """The kid a signed token (LK1 or AC1) names."""
    payload: dict[str, Any] = json.loads(b64u_decode(token.split(".")[1]))
    return str(payload["kid"])


def published_keys(url: str) -> dict[str, dict[str, str]]:
    r = httpx.get(f"{url}/api/v1/keys", timeout=10)
    assert r.status_code == 200, r.text
    return {k["kid"]: k for k in r.json()["keys"]}
