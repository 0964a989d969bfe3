"""Who is asking: the three credential kinds of the client API, checked against
the database. One answer (INVALID_CREDENTIALS) for every way of being wrong;
the real reason goes into the history for staff."""

from __future__ import annotations

import hmac
import json
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select

from licserver import signing
from licserver.crypto import b64u_decode, verify_password
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


def invalid() -> InvalidCredentials:
    """The one answer for every wrong credential: no oracle."""
    return InvalidCredentials("The credentials are not valid.")


@dataclass(frozen=True)
class _Attempt:
    """One credential check, and how its refusals go into the history."""

    deps: Deps
    origin: Origin
    kind: str  # activation.refused / validation.refused
    installation_id: str | None
    machine_name: str | None

    def refuse(
        self,
        reason: str,
        why: str,
        *,
        license: License | None = None,
        customer_id: int | None = None,
    ) -> None:
        # The read transaction of authenticate() cannot be upgraded on SQLite once
        # another worker has committed; end it and write under the write lock.
        session = self.deps.session
        begin_write(session)
        events.record(
            session,
            self.kind,
            self.origin,
            license=license,
            customer_id=customer_id,
            installation_id=self.installation_id,
            machine_name=self.machine_name,
            reason=reason,
            data={"why": why},
        )
        session.commit()

    def check_budget(
        self, *, license: License | None = None, customer_id: int | None = None
    ) -> None:
        """429 once the failed-attempt budget is spent, before the password is
        even looked at: right and wrong passwords get the same answer."""
        limit, window = self.deps.failed_attempts_limit, self.deps.failed_attempts_window
        if limit is None:  # RATE_LIMITS=off
            return
        count, oldest = events.recent_failures(
            self.deps.session,
            license_id=license.id if license is not None else None,
            customer_id=customer_id,
            window_seconds=window,
        )
        if count < limit:
            return
        retry = window
        if oldest is not None:
            retry = int((oldest + timedelta(seconds=window) - utcnow()).total_seconds()) + 1
        self.refuse(
            "RATE_LIMITED",
            "failed-attempt budget exhausted",
            license=license,
            customer_id=customer_id,
        )
        raise RateLimited("Too many failed attempts; try again later.", retry_after=retry)


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
    credential check (401)."""
    attempt = _Attempt(deps, origin, refusal_kind, installation_id, machine_name)
    try:
        if creds.kind == LICENSE_KEY:
            return _by_key(attempt, creds)
        if creds.kind == ACTIVATION_PASSWORD:
            return _by_password(attempt, creds)
        return _by_company(attempt, creds)
    finally:
        if deps.session.in_transaction():
            deps.session.commit()


def _by_key(attempt: _Attempt, creds: Credentials) -> Authenticated:
    deps = attempt.deps
    session = deps.session
    try:
        keys = deps.keyring.public_keys(session, _kid_hint(creds.license_key))
        claims = signing.parse_license_key(creds.license_key, keys)
    except signing.TokenError:
        raise invalid() from None
    lic = session.scalars(select(License).where(License.public_id == claims.lid)).first()
    if lic is None:
        raise invalid()
    if (claims.ser, claims.prod, claims.cust) != (
        lic.key_serial,
        lic.product.code,
        lic.customer.number,
    ):
        attempt.refuse(events.CREDENTIAL_FAILURE, "superseded licence key", license=lic)
        raise invalid()
    return Authenticated([lic.id], lic.customer_id, key_serial=lic.key_serial)


def _kid_hint(token: str | None) -> str | None:
    """The kid a token names, unverified: only to know whether to reload keys."""
    try:
        payload = json.loads(b64u_decode((token or "").split(".")[1]))
    except (ValueError, IndexError, UnicodeDecodeError, RecursionError):
        return None
    kid = payload.get("kid") if isinstance(payload, dict) else None
    return kid if isinstance(kid, str) else None


def _by_password(attempt: _Attempt, creds: Credentials) -> Authenticated:
    deps = attempt.deps
    lic = deps.session.scalars(select(License).where(License.public_id == creds.license_id)).first()
    if lic is None:
        raise invalid()
    attempt.check_budget(license=lic)
    expected = deps.box.open(lic.activation_password_enc, "activation_password")
    given = creds.activation_password or ""
    if not hmac.compare_digest(expected.encode(), given.encode()):
        attempt.refuse(events.CREDENTIAL_FAILURE, "wrong activation password", license=lic)
        raise invalid()
    return Authenticated([lic.id], lic.customer_id)


def _by_company(attempt: _Attempt, creds: Credentials) -> Authenticated:
    session = attempt.deps.session
    cust = session.scalars(select(Customer).where(Customer.number == creds.customer_number)).first()
    if cust is None:
        verify_password(None, creds.company_password or "")  # same time as a real check
        raise invalid()
    attempt.check_budget(customer_id=cust.id)
    if not verify_password(cust.company_password_hash, creds.company_password or ""):
        why = "wrong company password" if cust.company_password_hash else "company password not set"
        attempt.refuse(events.CREDENTIAL_FAILURE, why, customer_id=cust.id)
        raise invalid()
    ids = session.scalars(
        select(License.id)
        .join(Product, Product.id == License.product_id)
        .where(License.customer_id == cust.id, Product.code == creds.product)
        .order_by(License.id)
    ).all()
    if not ids:
        attempt.refuse("NOT_FOUND", f"no licence of product {creds.product!r}", customer_id=cust.id)
        raise NotFound(f"This customer holds no licence of product '{creds.product}'.")
    return Authenticated(list(ids), cust.id)
