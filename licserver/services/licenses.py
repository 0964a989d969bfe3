"""Licences: issuing one (the one way a licence is made), reading one back,
its secrets. Changes to a licence are in ``services.license_changes``, the
lists in ``services.license_lists``."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from licserver import signing
from licserver.database import begin_write
from licserver.domain import policy as rules
from licserver.domain.errors import NotFound, ValidationFailed
from licserver.domain.ids import ALPHABET, new_license_id
from licserver.models import Customer, License, Product, utcnow
from licserver.models.policy import Policy
from licserver.services import Origin, events
from licserver.services import customers as customer_service
from licserver.services import policies as policy_service
from licserver.services import products as product_service
from licserver.services.context import Context

KEY_PURPOSE = "license_key"
PASSWORD_PURPOSE = "activation_password"
UNSET: Any = object()


def new_activation_password() -> str:
    """Four groups of five (100 bits), easy to read out and type."""
    return "-".join("".join(secrets.choice(ALPHABET) for _ in range(5)) for _ in range(4))


@dataclass
class Secrets:
    key: str
    activation_password: str


def get(ctx: Context, public_id: str) -> License:
    session = ctx.session
    lic = session.scalars(select(License).where(License.public_id == public_id)).first()
    if lic is None:
        raise NotFound(f"No licence with id '{public_id}'.")
    return lic


def reveal(ctx: Context, lic: License) -> Secrets:
    return Secrets(
        key=ctx.box.open(lic.key_enc, KEY_PURPOSE),
        activation_password=ctx.box.open(lic.activation_password_enc, PASSWORD_PURPOSE),
    )


def sign_key(ctx: Context, lic: License, now: datetime) -> str:
    kid, key = ctx.keyring.signer(ctx.session)
    payload = signing.license_key_payload(
        lic.public_id, lic.product.code, lic.customer.number, lic.key_serial, int(now.timestamp())
    )
    return signing.encode(signing.LICENSE_KEY_PREFIX, payload, kid, key)


def create(
    ctx: Context,
    origin: Origin,
    *,
    product: str,
    customer: str,
    seats: int | None = None,
    expires_at: datetime | None | Any = UNSET,
    features: list[str] | None = None,
    policy: str | None = None,
    policy_overrides: dict[str, Any] | None = None,
) -> tuple[License, Secrets]:
    """Issue a licence (see :func:`issue`) and commit. ``policy``: one of the
    product's policies (id or name)."""
    overrides = checked_overrides(policy_overrides)
    begin_write(ctx.session)  # SQLite: take the write lock before reading
    try:
        prod = product_service.get(ctx, product)
        cust = customer_service.get(ctx, customer)
        pol = policy_of(ctx, prod.id, policy)
        out = issue(
            ctx,
            origin,
            prod,
            cust,
            seats=seats,
            expires_at=expires_at,
            features=features,
            policy=pol,
            policy_overrides=overrides,
        )
        ctx.session.commit()
    except BaseException:
        ctx.session.rollback()
        raise
    return out


def issue(
    ctx: Context,
    origin: Origin,
    prod: Product,
    cust: Customer,
    *,
    seats: int | None = None,
    expires_at: datetime | None | Any = UNSET,
    features: list[str] | None = None,
    policy: Policy | None = None,
    policy_overrides: dict[str, Any] | None = None,
    event_data: dict[str, Any] | None = None,
) -> tuple[License, Secrets]:
    """The one way a licence is made: signed key, sealed activation password,
    a ``license.created`` event (with ``event_data`` added to its data). Runs
    in the caller's transaction and does not commit (``create`` does; a store
    event commits it with its own record). ``policy_overrides``: checked
    already. Without ``expires_at``, the policy's expiry rule decides (fixed
    date, or from issue), else the product's default duration."""
    session = ctx.session
    lic, sec = build(
        ctx,
        prod,
        cust,
        seats=seats,
        expires_at=expires_at,
        features=features,
        policy=policy,
        policy_overrides=policy_overrides,
    )
    for _ in range(5):  # 40 random bits: a taken id all but never
        if session.scalars(select(License.id).where(License.public_id == lic.public_id)).first():
            rekey(ctx, lic)
            sec.key = ctx.box.open(lic.key_enc, KEY_PURPOSE)
    session.add(lic)
    session.flush()
    record_created(session, origin, lic, event_data)
    return lic, sec


def build(
    ctx: Context,
    prod: Product,
    cust: Customer,
    *,
    seats: int | None = None,
    expires_at: datetime | None | Any = UNSET,
    features: list[str] | None = None,
    policy: Policy | None = None,
    policy_overrides: dict[str, Any] | None = None,
    now: datetime | None = None,
) -> tuple[License, Secrets]:
    """A new licence, its key signed and its password sealed, not yet in the
    session, its public id not checked against the table (``issue`` does; an
    import checks a chunk's at once, ``rekey`` gives a taken one a new id)."""
    pol, overrides = policy, policy_overrides
    settings = rules.resolve(pol.settings if pol else None, overrides)
    now = now or utcnow()
    if expires_at is UNSET:
        expires_at = _default_expiry(prod, settings, now)
    password = new_activation_password()
    lic = License(
        public_id=new_license_id(),
        product_id=prod.id,
        customer_id=cust.id,
        seats=seats if seats is not None else prod.default_seats,
        seats_used=0,
        status="active",
        expires_at=expires_at,
        features=list(features or []),
        policy_id=pol.id if pol else None,
        policy_overrides=overrides,
        key_serial=1,
        key_enc=b"",
        activation_password_enc=ctx.box.seal(password, PASSWORD_PURPOSE),
        created_at=now,
    )
    lic.product, lic.customer, lic.policy = prod, cust, pol
    key = sign_key(ctx, lic, now)
    lic.key_enc = ctx.box.seal(key, KEY_PURPOSE)
    return lic, Secrets(key, password)


def rekey(ctx: Context, lic: License) -> None:
    """A built licence whose public id is taken: a new id, its key signed again."""
    lic.public_id = new_license_id()
    lic.key_enc = ctx.box.seal(sign_key(ctx, lic, lic.created_at), KEY_PURPOSE)


def record_created(
    session: Session, origin: Origin, lic: License, event_data: dict[str, Any] | None = None
) -> None:
    """The ``license.created`` event of a licence just written (it has its id)."""
    pol, overrides = lic.policy, lic.policy_overrides
    events.record(
        session,
        "license.created",
        origin,
        license=lic,
        data={
            "product": lic.product.code,
            "customer": lic.customer.number,
            "seats": lic.seats,
            "expires_at": iso(lic.expires_at),
            "features": lic.features,
            **({"policy": pol.public_id} if pol else {}),
            **({"policy_overrides": overrides} if overrides else {}),
            **(event_data or {}),
        },
    )


def _default_expiry(prod: Product, settings: rules.Settings, now: datetime) -> datetime | None:
    """The policy's expiry rule (fixed date, or from issue), else the product's
    default duration, else none."""
    if _policy_sets_expiry(settings):
        return rules.expiry_at_issue(settings, now, None)
    if prod.default_duration_days:
        return now + timedelta(days=prod.default_duration_days)
    return None


def checked_overrides(values: dict[str, Any] | None) -> dict[str, Any] | None:
    if not values:
        return None
    try:
        checked = rules.check(values, partial=True)
    except rules.PolicyError as exc:
        raise ValidationFailed(
            {f"policy_overrides.{k}": v for k, v in exc.errors.items()}
        ) from None
    return rules.settings_json(checked)


def policy_of(ctx: Context, product_id: int, ref: str | None) -> Policy | None:
    """The product's policy by id or name (None for None); ``ValidationFailed``
    when it has none of that name."""
    if ref is None:
        return None
    try:
        return policy_service.find(ctx, product_id, ref)
    except NotFound:
        raise ValidationFailed({"policy": [f"This product has no policy '{ref}'."]}) from None


def _policy_sets_expiry(s: rules.Settings) -> bool:
    """Does the policy's rule say when licences end (so the product's default
    duration does not apply)?"""
    return s.fixed_expiry is not None or s.expiry_basis != rules.FIXED


def iso(value: datetime | None) -> str | None:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ") if value else None
