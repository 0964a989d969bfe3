"""Activation, check-in, deactivation and validation: the client API's use cases.

The seat rule runs in one write transaction that holds the licence: on
PostgreSQL the licence rows are locked with SELECT ... FOR UPDATE; on SQLite
the transaction is opened with BEGIN IMMEDIATE. Inside it we look for this
installation's live activation (re-activation takes no second seat), then
count and insert. The partial unique index on live (licence, installation)
pairs backs it up in the database.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from licserver import signing
from licserver.crypto import random_token, token_hash, tokens_equal
from licserver.database import begin_write
from licserver.domain import seats as seat_rules
from licserver.domain.errors import (
    Deactivated,
    LicenseServerError,
    NotFound,
)
from licserver.domain.ids import new_activation_id
from licserver.domain.status import effective_status, usability_error
from licserver.models import Activation, License, utcnow
from licserver.services import Deps, Origin, events
from licserver.services.credentials import Authenticated, Credentials, authenticate, invalid


@dataclass
class ActivationResult:
    activation: Activation
    license: License
    certificate: str
    activation_token: str
    created: bool


@dataclass
class ValidationResult:
    valid: bool
    code: str
    license: License
    status: str


def _ts(value: datetime | None) -> int | None:
    return int(value.timestamp()) if value is not None else None


def issue_certificate(deps: Deps, activation: Activation, lic: License, now: datetime) -> str:
    kid, key = deps.keyring.signer(deps.session)
    until = now + timedelta(days=lic.product.offline_grace_days)
    payload = signing.certificate_payload(
        aid=activation.public_id,
        lid=lic.public_id,
        prod=lic.product.code,
        cust=lic.customer.number,
        iid=activation.installation_id,
        mn=activation.machine_name,
        seats=lic.seats,
        features=list(lic.features or []),
        iat=int(now.timestamp()),
        exp=_ts(lic.expires_at),
        until=int(until.timestamp()),
    )
    return signing.encode(signing.CERTIFICATE_PREFIX, payload, kid, key)


def _candidates(
    session: Session, licenses: list[License], installation_id: str, now: datetime
) -> tuple[dict[int, Activation], list[seat_rules.Candidate]]:
    """This installation's live activations on ``licenses`` (by licence row id),
    and the licences as the seat rules see them."""
    live = {
        a.license_id: a
        for a in session.scalars(
            select(Activation).where(
                Activation.license_id.in_([lic.id for lic in licenses]),
                Activation.installation_id == installation_id,
                Activation.deactivated_at.is_(None),
            )
        ).unique()
    }
    candidates = [
        seat_rules.Candidate(
            key=lic.id,
            status=effective_status(lic.status, lic.expires_at, now),
            seats=lic.seats,
            seats_used=lic.seats_used,
            expires_at=lic.expires_at,
            active_here=lic.id in live,
        )
        for lic in licenses
    ]
    return live, candidates


def _lock_licenses(session: Session, ids: list[int]) -> list[License]:
    """Load the licences for this write transaction, locked on PostgreSQL (in id
    order, so two requests never wait on each other crosswise)."""
    # populate_existing: never decide on seat counts the session loaded earlier.
    q = (
        select(License)
        .where(License.id.in_(ids))
        .order_by(License.id)
        .execution_options(populate_existing=True)
    )
    if session.get_bind().dialect.name == "postgresql":
        q = q.with_for_update(of=License)
    return list(session.scalars(q).unique().all())


def activate(
    deps: Deps,
    creds: Credentials,
    installation_id: str,
    machine_name: str,
    client: dict[str, Any] | None,
    origin: Origin,
) -> ActivationResult:
    auth = authenticate(deps, creds, origin, "activation.refused", installation_id, machine_name)
    session = deps.session
    begin_write(session)
    try:
        return _activate_locked(deps, auth, installation_id, machine_name, client, origin)
    except LicenseServerError as exc:
        session.rollback()
        refused_id = getattr(exc, "refused_license_id", None)
        if refused_id is not None:
            # A writer from the first statement: SQLite cannot upgrade a read
            # transaction once another worker has committed (SQLITE_BUSY_SNAPSHOT).
            begin_write(session)
            lic = session.get(License, refused_id)
            events.record(
                session,
                "activation.refused",
                origin,
                license=lic,
                installation_id=installation_id,
                machine_name=machine_name,
                reason=exc.code,
                data={"why": exc.detail},
            )
            session.commit()
        raise
    except BaseException:
        session.rollback()
        raise


def _refused(exc: LicenseServerError, lic: License) -> LicenseServerError:
    """Mark ``exc`` as a refusal to be written into ``lic``'s history after rollback."""
    exc.refused_license_id = lic.id  # type: ignore[attr-defined]
    return exc


def _activate_locked(
    deps: Deps,
    auth: Authenticated,
    installation_id: str,
    machine_name: str,
    client: dict[str, Any] | None,
    origin: Origin,
) -> ActivationResult:
    session = deps.session
    now = utcnow()
    licenses = _lock_licenses(session, auth.license_ids)
    if not licenses:  # deleted between the two phases
        raise invalid()
    if auth.key_serial is not None and licenses[0].key_serial != auth.key_serial:
        raise _refused(invalid(), licenses[0])

    live, candidates = _candidates(session, licenses, installation_id, now)
    by_id = {lic.id: lic for lic in licenses}
    chosen = seat_rules.choose_license(candidates)
    if chosen is None:
        usable = [c for c in candidates if c.status == "active"]
        if not usable:
            worst = seat_rules.refusal_for_unusable(candidates)
            err = usability_error(worst.status)
            assert err is not None
            raise _refused(err, by_id[worst.key])
        # every usable licence is full: the answer is the seat limit of the first
        target = by_id[usable[0].key]
        try:
            seat_rules.check_free_seat(target.seats, target.seats_used)
        except LicenseServerError as exc:
            raise _refused(exc, target) from None
    assert chosen is not None
    lic = by_id[chosen.key]

    token = random_token()
    existing = live.get(lic.id)
    if existing is not None:
        existing.token_hash = token_hash(token)
        changes = {}
        if existing.machine_name != machine_name:
            changes["machine_name"] = {"from": existing.machine_name, "to": machine_name}
            existing.machine_name = machine_name
        if client is not None:
            existing.client = client
        existing.ip = origin.ip
        events.record(
            session, "activation.reused", origin, license=lic, activation=existing, data=changes
        )
        cert = issue_certificate(deps, existing, lic, now)
        session.commit()
        return ActivationResult(existing, lic, cert, token, created=False)

    activation = Activation(
        public_id=new_activation_id(),
        license_id=lic.id,
        installation_id=installation_id,
        machine_name=machine_name,
        client=client,
        token_hash=token_hash(token),
        ip=origin.ip,
        activated_at=now,
    )
    activation.license = lic
    session.add(activation)
    lic.seats_used += 1  # the row is ours until commit (locked / BEGIN IMMEDIATE)
    events.record(
        session,
        "activation.created",
        origin,
        license=lic,
        activation=activation,
        data={"client": client} if client else {},
    )
    cert = issue_certificate(deps, activation, lic, now)
    session.commit()
    return ActivationResult(activation, lic, cert, token, created=True)


def _load_activation(session: Session, public_id: str) -> Activation | None:
    return session.scalars(select(Activation).where(Activation.public_id == public_id)).first()


def checkin(
    deps: Deps, activation_id: str, activation_token: str, origin: Origin
) -> tuple[Activation, str]:
    """A fresh certificate for a live activation, or the reason there is none."""
    session = deps.session
    begin_write(session)
    try:
        act = _load_activation(session, activation_id)
        if act is None:
            raise invalid()
        lic = act.license
        if not tokens_equal(act.token_hash, activation_token):
            raise _refused(invalid(), lic)
        if act.deactivated_at is not None:
            raise _refused(Deactivated("This activation was deactivated."), lic)
        now = utcnow()
        err = usability_error(effective_status(lic.status, lic.expires_at, now))
        if err is not None:
            raise _refused(err, lic)
        act.last_checkin_at = now
        events.record(session, "activation.checked_in", origin, license=lic, activation=act)
        cert = issue_certificate(deps, act, lic, now)
        session.commit()
        return act, cert
    except LicenseServerError as exc:
        session.rollback()
        refused_id = getattr(exc, "refused_license_id", None)
        if refused_id is not None:
            begin_write(session)  # as in activate(): write lock before the first read
            act = _load_activation(session, activation_id)
            events.record(
                session,
                "activation.checkin_refused",
                origin,
                license=session.get(License, refused_id),
                activation=act,
                reason=exc.code,
                data={"why": exc.detail},
            )
            session.commit()
        raise
    except BaseException:
        session.rollback()
        raise


def deactivate(
    deps: Deps,
    activation_id: str,
    origin: Origin,
    *,
    activation_token: str | None = None,
    reason: str | None = None,
) -> Activation:
    """Free the activation's seat. With ``activation_token`` it is the client's own
    call (a wrong token is INVALID_CREDENTIALS); without, an admin's or a portal
    user's, already authorised (an unknown id is NOT_FOUND). Repeating it is a
    no-op answering the first deactivation."""
    session = deps.session
    begin_write(session)
    try:
        act = _load_activation(session, activation_id)
        if activation_token is not None:
            if act is None or not tokens_equal(act.token_hash, activation_token):
                raise invalid()
        elif act is None:
            raise NotFound(f"No activation with id '{activation_id}'.")
        if act.deactivated_at is not None:
            session.commit()
            return act
        lic = _lock_licenses(session, [act.license_id])[0]
        # Re-read under the lock: a concurrent deactivation may have won.
        session.refresh(act)
        if act.deactivated_at is not None:
            session.commit()
            return act
        act.deactivated_at = utcnow()
        act.deactivated_by_type = origin.actor.type
        act.deactivated_by_id = origin.actor.id
        act.deactivation_reason = reason
        lic.seats_used -= 1
        events.record(
            session, "activation.deactivated", origin, license=lic, activation=act, reason=reason
        )
        session.commit()
        return act
    except BaseException:
        session.rollback()
        raise


def validate(
    deps: Deps, creds: Credentials, installation_id: str, origin: Origin
) -> ValidationResult:
    """Read-only: is this installation licensed now? Answers with a code, not an error."""
    auth = authenticate(deps, creds, origin, "validation.refused", installation_id)
    session = deps.session
    try:
        now = utcnow()
        licenses = list(
            session.scalars(
                select(License).where(License.id.in_(auth.license_ids)).order_by(License.id)
            ).unique()
        )
        if auth.key_serial is not None and licenses and licenses[0].key_serial != auth.key_serial:
            raise invalid()
        _, candidates = _candidates(session, licenses, installation_id, now)
        by_id = {lic.id: lic for lic in licenses}
        here = [c for c in candidates if c.active_here]
        pick = (
            next((c for c in here if c.status == "active"), None)
            or seat_rules.choose_license(candidates)
            or (here[0] if here else None)
            or seat_rules.refusal_for_unusable(candidates)
        )
        status = pick.status
        if status != "active":
            code = f"LICENSE_{status.upper()}"
        elif pick.active_here:
            code = "VALID"
        else:
            code = "NOT_ACTIVATED"
        return ValidationResult(code == "VALID", code, by_id[pick.key], status)
    finally:
        session.commit()
