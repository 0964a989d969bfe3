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
from licserver.domain import policy as rules
from licserver.domain.errors import Conflict, NotFound, ValidationFailed
from licserver.domain.ids import ALPHABET, new_license_id
from licserver.domain.status import stored_terms, transition
from licserver.models import Activation, Customer, Event, License, Product, utcnow
from licserver.models.policy import Policy
from licserver.services import Origin, events
from licserver.services import customers as customer_service
from licserver.services import policies as policy_service
from licserver.services import products as product_service
from licserver.services.context import Context
from licserver.services.pagination import Page, PageRequest, fetch

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


def get(ctx: Context, public_id: str) -> License:
    session = ctx.session
    lic = session.scalars(select(License).where(License.public_id == public_id)).first()
    if lic is None:
        raise NotFound(f"No licence with id '{public_id}'.")
    return lic


@dataclass(frozen=True)
class LicenseFilters:
    """The admin list's filters: a customer number, a product code, an
    effective status (``domain.status.ALL``)."""

    customer: str | None = None
    product: str | None = None
    status: str | None = None


def list_licenses(
    ctx: Context, filters: LicenseFilters, req: PageRequest, now: datetime | None = None
) -> Page[License]:
    """Licences, oldest first, as the filters say."""
    q = select(License)
    if filters.customer:
        q = q.join(Customer, Customer.id == License.customer_id).where(
            Customer.number == filters.customer
        )
    if filters.product:
        q = q.join(Product, Product.id == License.product_id).where(Product.code == filters.product)
    if filters.status:
        stored, passed = stored_terms(filters.status)
        q = q.where(License.status == stored)
        now = now or ctx.clock()
        if passed is True:
            q = q.where(License.expires_at.is_not(None), License.expires_at <= now)
        elif passed is False:
            q = q.where(License.expires_at.is_(None) | (License.expires_at > now))
    return fetch(ctx.session, q, License.id, req)


def list_activations(
    ctx: Context, public_id: str, req: PageRequest, *, active_only: bool
) -> Page[Activation]:
    """The licence's activations (only the live ones with ``active_only``), oldest first."""
    lic = get(ctx, public_id)
    q = select(Activation).where(Activation.license_id == lic.id)
    if active_only:
        q = q.where(Activation.deactivated_at.is_(None))
    return fetch(ctx.session, q, Activation.id, req)


def list_events(ctx: Context, public_id: str, req: PageRequest) -> Page[Event]:
    """The licence's history, oldest first."""
    lic = get(ctx, public_id)
    return fetch(ctx.session, select(Event).where(Event.license_id == lic.id), Event.id, req)


def reveal(ctx: Context, lic: License) -> Secrets:
    return Secrets(
        key=ctx.box.open(lic.key_enc, KEY_PURPOSE),
        activation_password=ctx.box.open(lic.activation_password_enc, PASSWORD_PURPOSE),
    )


def _sign_key(ctx: Context, lic: License, now: datetime) -> str:
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
    expires_at: datetime | None | Any = _UNSET,
    features: list[str] | None = None,
    policy: str | None = None,
    policy_overrides: dict[str, Any] | None = None,
) -> tuple[License, Secrets]:
    """Issue a licence (see :func:`issue`) and commit. ``policy``: one of the
    product's policies (id or name)."""
    overrides = _checked_overrides(policy_overrides)
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
    expires_at: datetime | None | Any = _UNSET,
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
    expires_at: datetime | None | Any = _UNSET,
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
    if expires_at is _UNSET:
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
    key = _sign_key(ctx, lic, now)
    lic.key_enc = ctx.box.seal(key, KEY_PURPOSE)
    return lic, Secrets(key, password)


def rekey(ctx: Context, lic: License) -> None:
    """A built licence whose public id is taken: a new id, its key signed again."""
    lic.public_id = new_license_id()
    lic.key_enc = ctx.box.seal(_sign_key(ctx, lic, lic.created_at), KEY_PURPOSE)


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
            "expires_at": _iso(lic.expires_at),
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


def _checked_overrides(values: dict[str, Any] | None) -> dict[str, Any] | None:
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


def _check_whole(lic: License) -> rules.Settings:
    """The licence's effective settings must make sense together."""
    s = policy_service.effective(lic)
    try:
        rules.check({k: v for k, v in s.to_json().items()}, partial=False)
    except rules.PolicyError as exc:
        raise ValidationFailed(
            {f"policy_overrides.{k}": v for k, v in exc.errors.items()}
        ) from None
    return s


def _iso(value: datetime | None) -> str | None:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ") if value else None


def update(ctx: Context, origin: Origin, public_id: str, changes: dict[str, Any]) -> License:
    """Seats, expiry, features, policy, policy overrides. Lowering seats below
    those in use is allowed: the installations stay, new ones are refused until
    enough are freed."""
    session = ctx.session
    begin_write(session)
    try:
        lic = _locked(session, public_id)
        diff: dict[str, Any] = {}
        for field in ("seats", "expires_at", "features"):
            if field in changes and getattr(lic, field) != changes[field]:
                old, new = getattr(lic, field), changes[field]
                if field == "expires_at":
                    old, new = _iso(old), _iso(new)
                diff[field] = {"from": old, "to": new}
                setattr(lic, field, changes[field])
        rules_changed = False
        if "policy" in changes:
            pol = policy_of(ctx, lic.product_id, changes["policy"])
            if (pol.id if pol else None) != lic.policy_id:
                old_ref = lic.policy.public_id if lic.policy else None
                diff["policy"] = {"from": old_ref, "to": pol.public_id if pol else None}
                lic.policy_id, lic.policy = (pol.id if pol else None), pol
                rules_changed = True
        if "policy_overrides" in changes:
            overrides = _checked_overrides(changes["policy_overrides"])
            if overrides != lic.policy_overrides:
                diff["policy_overrides"] = {"from": lic.policy_overrides, "to": overrides}
                lic.policy_overrides = overrides
                rules_changed = True
        if rules_changed:
            policy_service.rederive_live(ctx, lic, _check_whole(lic))
        if diff:
            events.record(session, "license.updated", origin, license=lic, data=diff)
        session.commit()
        return lic
    except BaseException:
        session.rollback()
        raise


def add_seats(ctx: Context, origin: Origin, public_id: str, more: int) -> License:
    """``more`` seats on top of what the licence has when its lock is taken
    (two additions at once both count), as a ``license.updated`` event."""
    if more < 1:
        raise ValidationFailed({"seats": ["Add at least one seat."]})
    session = ctx.session
    begin_write(session)
    try:
        lic = _locked(session, public_id)
        old = lic.seats
        lic.seats = old + more
        events.record(
            session,
            "license.updated",
            origin,
            license=lic,
            data={"seats": {"from": old, "to": lic.seats}},
        )
        session.commit()
        return lic
    except BaseException:
        session.rollback()
        raise


def renew(ctx: Context, origin: Origin, public_id: str, days: int | None = None) -> License:
    """Extend by ``days`` (default: the policy's duration), from the old expiry or
    from now as the policy's renewal basis says (``domain.policy.renewed_expiry``)."""
    session = ctx.session
    begin_write(session)
    try:
        lic = _locked(session, public_id)
        s = policy_service.effective(lic)
        now = utcnow()
        try:
            new = rules.renewed_expiry(s, lic.expires_at, now, days)
        except rules.PolicyError as exc:
            raise ValidationFailed(exc.errors) from None
        old = lic.expires_at
        lic.expires_at = new
        events.record(
            session,
            "license.renewed",
            origin,
            license=lic,
            data={
                "from": _iso(old),
                "to": _iso(new),
                "days": days or s.duration_days,
                "basis": s.renewal_basis,
            },
        )
        session.commit()
        return lic
    except BaseException:
        session.rollback()
        raise


def convert(
    ctx: Context,
    origin: Origin,
    public_id: str,
    *,
    policy: str,
    expires_at: datetime | None | Any = _UNSET,
    seats: int | None = None,
) -> License:
    """A trial licence becomes a paid one: it moves to ``policy`` (not a trial),
    keeping its key, password and activations. Expiry: ``expires_at`` if given,
    else the new policy's rule from now, else perpetual."""
    session = ctx.session
    begin_write(session)
    try:
        lic = _locked(session, public_id)
        before = policy_service.effective(lic)
        if not before.trial:
            raise Conflict("Only a trial licence can be converted.")
        pol = policy_of(ctx, lic.product_id, policy)
        assert pol is not None
        target = rules.resolve(pol.settings, lic.policy_overrides)
        if target.trial:
            raise Conflict(f"Policy '{pol.name}' is a trial: convert to a paid policy.")
        now = utcnow()
        old_policy = lic.policy.public_id if lic.policy else None
        old_expiry = lic.expires_at
        lic.policy_id, lic.policy = pol.id, pol
        if expires_at is _UNSET:
            if target.expiry_basis == rules.FROM_FIRST_ACTIVATION and target.duration_days:
                expires_at = now + timedelta(days=target.duration_days)
            else:
                expires_at = rules.expiry_at_issue(target, now, None)
        lic.expires_at = expires_at
        if seats is not None:
            lic.seats = seats
        lic.converted_at = now
        policy_service.rederive_live(ctx, lic, _check_whole(lic))
        events.record(
            session,
            "license.converted",
            origin,
            license=lic,
            data={
                "policy": {"from": old_policy, "to": pol.public_id},
                "expires_at": {"from": _iso(old_expiry), "to": _iso(lic.expires_at)},
                **({"seats": seats} if seats is not None else {}),
            },
        )
        session.commit()
        return lic
    except BaseException:
        session.rollback()
        raise


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
    ctx: Context, origin: Origin, public_id: str, action: str, reason: str | None = None
) -> License:
    session = ctx.session
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


def regenerate_password(ctx: Context, origin: Origin, public_id: str) -> tuple[License, str]:
    session = ctx.session
    begin_write(session)
    lic = _locked(session, public_id)
    password = new_activation_password()
    lic.activation_password_enc = ctx.box.seal(password, PASSWORD_PURPOSE)
    events.record(session, "license.password_regenerated", origin, license=lic)
    session.commit()
    return lic, password


def reissue_key(ctx: Context, origin: Origin, public_id: str) -> tuple[License, str]:
    """A new serial: the old key stops working at once; activations made with it stay."""
    session = ctx.session
    begin_write(session)
    lic = _locked(session, public_id)
    lic.key_serial += 1
    key = _sign_key(ctx, lic, utcnow())
    lic.key_enc = ctx.box.seal(key, KEY_PURPOSE)
    events.record(
        session, "license.key_reissued", origin, license=lic, data={"serial": lic.key_serial}
    )
    session.commit()
    return lic, key
