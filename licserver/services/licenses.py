"""Licences: issue, change, suspend/reinstate/revoke, new passwords and keys."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from licserver import signing
from licserver.database import begin_write
from licserver.domain.errors import NotFound
from licserver.domain.ids import ALPHABET, new_license_id
from licserver.domain.status import transition
from licserver.models import License, utcnow
from licserver.services import Deps, Origin, events
from licserver.services import customers as customer_service
from licserver.services import products as product_service

KEY_PURPOSE = "license_key"
PASSWORD_PURPOSE = "activation_password"
_UNSET: Any = object()


def new_activation_password() -> str:
    """Four groups of five (100 bits), easy to read out and type."""
    return "-".join("".join(secrets.choice(ALPHABET) for _ in range(5)) for _ in range(4))


@dataclass
class Secrets:
    key: str
    activation_password: str


def get(session: Session, public_id: str) -> License:
    lic = session.scalars(select(License).where(License.public_id == public_id)).first()
    if lic is None:
        raise NotFound(f"No licence with id '{public_id}'.")
    return lic


def reveal(deps: Deps, lic: License) -> Secrets:
    return Secrets(
        key=deps.box.open(lic.key_enc, KEY_PURPOSE),
        activation_password=deps.box.open(lic.activation_password_enc, PASSWORD_PURPOSE),
    )


def _sign_key(deps: Deps, lic: License, now: datetime) -> str:
    kid, key = deps.keyring.signer(deps.session)
    payload = signing.license_key_payload(
        lic.public_id, lic.product.code, lic.customer.number, lic.key_serial, int(now.timestamp())
    )
    return signing.encode(signing.LICENSE_KEY_PREFIX, payload, kid, key)


def create(
    deps: Deps,
    origin: Origin,
    *,
    product: str,
    customer: str,
    seats: int | None = None,
    expires_at: datetime | None | Any = _UNSET,
    features: list[str] | None = None,
) -> tuple[License, Secrets]:
    begin_write(deps.session)  # SQLite: take the write lock before reading
    session = deps.session
    prod = product_service.get(session, product)
    cust = customer_service.get(session, customer)
    now = utcnow()
    if expires_at is _UNSET:
        expires_at = (
            now + timedelta(days=prod.default_duration_days) if prod.default_duration_days else None
        )
    for _ in range(5):
        public_id = new_license_id()
        if (
            session.scalars(select(License.id).where(License.public_id == public_id)).first()
            is None
        ):
            break
    password = new_activation_password()
    lic = License(
        public_id=public_id,
        product_id=prod.id,
        customer_id=cust.id,
        seats=seats if seats is not None else prod.default_seats,
        seats_used=0,
        status="active",
        expires_at=expires_at,
        features=list(features or []),
        key_serial=1,
        key_enc=b"",
        activation_password_enc=deps.box.seal(password, PASSWORD_PURPOSE),
        created_at=now,
    )
    lic.product, lic.customer = prod, cust
    key = _sign_key(deps, lic, now)
    lic.key_enc = deps.box.seal(key, KEY_PURPOSE)
    session.add(lic)
    session.flush()
    events.record(
        session,
        "license.created",
        origin,
        license=lic,
        data={
            "product": prod.code,
            "customer": cust.number,
            "seats": lic.seats,
            "expires_at": _iso(lic.expires_at),
            "features": lic.features,
        },
    )
    session.commit()
    return lic, Secrets(key, password)


def _iso(value: datetime | None) -> str | None:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ") if value else None


def update(deps: Deps, origin: Origin, public_id: str, changes: dict[str, Any]) -> License:
    """Seats, expiry, features. Lowering seats below those in use is allowed:
    the installations stay, new ones are refused until enough are freed."""
    session = deps.session
    begin_write(session)
    lic = _locked(session, public_id)
    diff: dict[str, Any] = {}
    for field in ("seats", "expires_at", "features"):
        if field in changes and getattr(lic, field) != changes[field]:
            old, new = getattr(lic, field), changes[field]
            if field == "expires_at":
                old, new = _iso(old), _iso(new)
            diff[field] = {"from": old, "to": new}
            setattr(lic, field, changes[field])
    if diff:
        events.record(session, "license.updated", origin, license=lic, data=diff)
    session.commit()
    return lic


def _locked(session: Session, public_id: str) -> License:
    q = (
        select(License)
        .where(License.public_id == public_id)
        .execution_options(populate_existing=True)
    )
    if session.get_bind().dialect.name == "postgresql":
        q = q.with_for_update(of=License)
    lic = session.scalars(q).first()
    if lic is None:
        raise NotFound(f"No licence with id '{public_id}'.")
    return lic


_KIND = {
    "suspend": "license.suspended",
    "reinstate": "license.reinstated",
    "revoke": "license.revoked",
}


def change_status(
    deps: Deps, origin: Origin, public_id: str, action: str, reason: str | None = None
) -> License:
    session = deps.session
    begin_write(session)
    try:
        lic = _locked(session, public_id)
        target = transition(lic.status, action)
        if target is not None:
            before = lic.status
            lic.status = target
            events.record(
                session,
                _KIND[action],
                origin,
                license=lic,
                reason=reason,
                data={"from": before, "to": target},
            )
        session.commit()
        return lic
    except BaseException:
        session.rollback()
        raise


def regenerate_password(deps: Deps, origin: Origin, public_id: str) -> tuple[License, str]:
    session = deps.session
    begin_write(session)
    lic = _locked(session, public_id)
    password = new_activation_password()
    lic.activation_password_enc = deps.box.seal(password, PASSWORD_PURPOSE)
    events.record(session, "license.password_regenerated", origin, license=lic)
    session.commit()
    return lic, password


def reissue_key(deps: Deps, origin: Origin, public_id: str) -> tuple[License, str]:
    """A new serial: the old key stops working at once; activations made with it stay."""
    session = deps.session
    begin_write(session)
    lic = _locked(session, public_id)
    lic.key_serial += 1
    key = _sign_key(deps, lic, utcnow())
    lic.key_enc = deps.box.seal(key, KEY_PURPOSE)
    events.record(
        session, "license.key_reissued", origin, license=lic, data={"serial": lic.key_serial}
    )
    session.commit()
    return lic, key
