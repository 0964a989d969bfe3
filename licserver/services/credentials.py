"""Who is asking: the three credential kinds of the client API, checked against
the database. One answer (INVALID_CREDENTIALS) for every way of being wrong;
the real reason goes into the history for staff."""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select

from licserver import signing
from licserver.database import begin_write
from licserver.domain.errors import InvalidCredentials, NotFound, RateLimited
from licserver.models import Customer, License, Product, utcnow
from licserver.services import Deps, Origin, events

LICENSE_KEY = "license_key"
ACTIVATION_PASSWORD = "activation_password"
COMPANY_PASSWORD = "company_password"


@dataclass(frozen=True)
class Credentials:
    kind: str
    license_key: str | None = None
    license_id: str | None = None
    activation_password: str | None = None
    customer_number: str | None = None
    company_password: str | None = None
    product: str | None = None


@dataclass(frozen=True)
class Authenticated:
    """The licences the credentials give access to (row ids, oldest first).

    One for a key or an activation password; every licence of the product for
    a company password. ``key_serial`` is set for a key, so the write phase can
    refuse a key reissued meanwhile."""

    license_ids: list[int]
    customer_id: int
    key_serial: int | None = None


def authenticate(
    deps: Deps,
    creds: Credentials,
    origin: Origin,
    refusal_kind: str,
    installation_id: str | None = None,
    machine_name: str | None = None,
) -> Authenticated:
    """Check credentials in a short read transaction (no lock held while hashing).

    Order, as API.md fixes it: the failed-attempt budget (429) before the
    credential check (401), so right and wrong passwords alike are refused
    once the budget is spent."""
    session = deps.session
    try:
        if creds.kind == LICENSE_KEY:
            return _by_key(deps, creds, origin, refusal_kind, installation_id, machine_name)
        if creds.kind == ACTIVATION_PASSWORD:
            return _by_password(deps, creds, origin, refusal_kind, installation_id, machine_name)
        return _by_company(deps, creds, origin, refusal_kind, installation_id, machine_name)
    finally:
        if session.in_transaction():
            session.commit()


def _refuse(
    deps: Deps,
    kind: str,
    origin: Origin,
    reason: str,
    *,
    license: License | None,
    customer_id: int | None,
    installation_id: str | None,
    machine_name: str | None,
    why: str,
) -> None:
    # The read transaction of authenticate() cannot be upgraded on SQLite once
    # another worker has committed; end it and write under the write lock.
    begin_write(deps.session)
    events.record(
        deps.session,
        kind,
        origin,
        license=license,
        customer_id=customer_id,
        installation_id=installation_id,
        machine_name=machine_name,
        reason=reason,
        data={"why": why},
    )
    deps.session.commit()


def _check_budget(
    deps: Deps,
    kind: str,
    origin: Origin,
    *,
    license: License | None,
    customer_id: int | None,
    installation_id: str | None,
    machine_name: str | None,
) -> None:
    if deps.failed_attempts_limit is None:  # RATE_LIMITS=off
        return
    count, oldest = events.recent_failures(
        deps.session,
        license_id=license.id if license is not None else None,
        customer_id=customer_id,
        window_seconds=deps.failed_attempts_window,
    )
    if count < deps.failed_attempts_limit:
        return
    retry = deps.failed_attempts_window
    if oldest is not None:
        retry = (
            int(
                (oldest + timedelta(seconds=deps.failed_attempts_window) - utcnow()).total_seconds()
            )
            + 1
        )
    _refuse(
        deps,
        kind,
        origin,
        "RATE_LIMITED",
        license=license,
        customer_id=customer_id,
        installation_id=installation_id,
        machine_name=machine_name,
        why="failed-attempt budget exhausted",
    )
    raise RateLimited("Too many failed attempts; try again later.", retry_after=retry)


def _by_key(
    deps: Deps, creds: Credentials, origin: Origin, kind: str, iid: str | None, mn: str | None
) -> Authenticated:
    session = deps.session
    try:
        claims = signing.parse_license_key(
            creds.license_key, deps.keyring.public_keys(session, _kid_hint(creds.license_key))
        )
    except signing.TokenError:
        raise InvalidCredentials("The credentials are not valid.") from None
    lic = session.scalars(select(License).where(License.public_id == claims.lid)).first()
    if lic is None:
        raise InvalidCredentials("The credentials are not valid.")
    if (
        claims.ser != lic.key_serial
        or claims.prod != lic.product.code
        or claims.cust != lic.customer.number
    ):
        _refuse(
            deps,
            kind,
            origin,
            events.CREDENTIAL_FAILURE,
            license=lic,
            customer_id=None,
            installation_id=iid,
            machine_name=mn,
            why="superseded licence key",
        )
        raise InvalidCredentials("The credentials are not valid.")
    return Authenticated([lic.id], lic.customer_id, key_serial=lic.key_serial)


def _kid_hint(token: str | None) -> str | None:
    """The kid a token names, unverified: only to know whether to reload keys."""
    try:
        import json

        from licserver.crypto import b64u_decode

        payload = json.loads(b64u_decode((token or "").split(".")[1]))
        kid = payload.get("kid") if isinstance(payload, dict) else None
        return kid if isinstance(kid, str) else None
    except (ValueError, IndexError, UnicodeDecodeError):
        return None


def _by_password(
    deps: Deps, creds: Credentials, origin: Origin, kind: str, iid: str | None, mn: str | None
) -> Authenticated:
    session = deps.session
    lic = session.scalars(select(License).where(License.public_id == creds.license_id)).first()
    if lic is None:
        raise InvalidCredentials("The credentials are not valid.")
    _check_budget(
        deps, kind, origin, license=lic, customer_id=None, installation_id=iid, machine_name=mn
    )
    expected = deps.box.open(lic.activation_password_enc, "activation_password")
    given = creds.activation_password or ""
    if not hmac.compare_digest(expected.encode(), given.encode()):
        _refuse(
            deps,
            kind,
            origin,
            events.CREDENTIAL_FAILURE,
            license=lic,
            customer_id=None,
            installation_id=iid,
            machine_name=mn,
            why="wrong activation password",
        )
        raise InvalidCredentials("The credentials are not valid.")
    return Authenticated([lic.id], lic.customer_id)


def _by_company(
    deps: Deps, creds: Credentials, origin: Origin, kind: str, iid: str | None, mn: str | None
) -> Authenticated:
    from licserver.crypto import verify_password

    session = deps.session
    cust = session.scalars(select(Customer).where(Customer.number == creds.customer_number)).first()
    if cust is None:
        verify_password(None, creds.company_password or "")  # same time as a real check
        raise InvalidCredentials("The credentials are not valid.")
    _check_budget(
        deps, kind, origin, license=None, customer_id=cust.id, installation_id=iid, machine_name=mn
    )
    if not verify_password(cust.company_password_hash, creds.company_password or ""):
        why = (
            "company password not set"
            if not cust.company_password_hash
            else "wrong company password"
        )
        _refuse(
            deps,
            kind,
            origin,
            events.CREDENTIAL_FAILURE,
            license=None,
            customer_id=cust.id,
            installation_id=iid,
            machine_name=mn,
            why=why,
        )
        raise InvalidCredentials("The credentials are not valid.")
    ids = session.scalars(
        select(License.id)
        .join(Product, Product.id == License.product_id)
        .where(License.customer_id == cust.id, Product.code == creds.product)
        .order_by(License.id)
    ).all()
    if not ids:
        _refuse(
            deps,
            kind,
            origin,
            "NOT_FOUND",
            license=None,
            customer_id=cust.id,
            installation_id=iid,
            machine_name=mn,
            why=f"no licence of product {creds.product!r}",
        )
        raise NotFound(f"This customer holds no licence of product '{creds.product}'.")
    return Authenticated(list(ids), cust.id)
