"""Who is asking: the three credential kinds of the client API. One answer
(INVALID_CREDENTIALS) for every way of being wrong; the real reason goes into
the history for staff.

A licence key or an activation password is checked against the licence row the
use case loads anyway (``check_licence``), so the use case reads the licence
once, in its own transaction. A key that is exactly the one the server issued
for the licence (it keeps it, sealed) is authentic and current without its
signature being checked; any other is verified (``verify_key``) and its claims
compared, so that a superseded key is told apart for the history. The licence
is looked up by the id the key names (``key_license_id``, unverified: only a
lookup). The company
password is the exception: its argon2 check is slow by design, so
``authenticate_company`` runs it in a short read transaction of its own, and
no lock is held while it hashes.
"""

from __future__ import annotations

import hmac
import json
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Protocol

from cryptography.exceptions import InvalidTag
from sqlalchemy import select

from licserver import signing
from licserver.crypto import b64u_decode, verify_password
from licserver.database import begin_write
from licserver.domain.errors import InvalidCredentials, NotFound, RateLimited
from licserver.models import Customer, License, Product, utcnow
from licserver.services import Origin, events
from licserver.services.context import Context
from licserver.services.licenses import KEY_PURPOSE, PASSWORD_PURPOSE

LICENSE_KEY = "license_key"
ACTIVATION_PASSWORD = "activation_password"
COMPANY_PASSWORD = "company_password"
# A licence key of the system licences were imported from (services.legacy_keys):
# sent as ``license_key``, found by its keyed hash, which names the licence.
LEGACY_KEY = "legacy_key"


@dataclass(frozen=True)
class Credentials:
    kind: str
    license_key: str | None = None
    license_id: str | None = None
    activation_password: str | None = None
    customer_number: str | None = None
    company_password: str | None = None
    product: str | None = None


class LicenceFacts(Protocol):
    """What ``check_licence`` needs of the licence row the use case loaded."""

    id: int
    public_id: str
    customer_id: int
    key_serial: int
    key_enc: bytes
    activation_password_enc: bytes
    product: str  # the product's code
    customer: str  # the customer's number


def invalid() -> InvalidCredentials:
    """The one answer for every wrong credential: no oracle."""
    return InvalidCredentials("The credentials are not valid.")


@dataclass(frozen=True)
class Attempt:
    """One credential check, and how its refusals go into the history."""

    ctx: Context
    origin: Origin
    kind: str  # activation.refused / validation.refused
    installation_id: str | None
    machine_name: str | None

    def refuse(
        self,
        reason: str,
        why: str,
        *,
        license_id: int | None = None,
        customer_id: int | None = None,
    ) -> None:
        """Record the refusal and commit it (ending whatever the request had open)."""
        # A read transaction cannot be upgraded on SQLite once another worker has
        # committed; end it and write under the write lock.
        session = self.ctx.session
        begin_write(session)
        events.add(
            session,
            self.kind,
            self.origin,
            license_id=license_id,
            customer_id=customer_id,
            installation_id=self.installation_id,
            machine_name=self.machine_name,
            reason=reason,
            data={"why": why},
        )
        session.commit()

    def check_budget(self, *, license_id: int | None = None, customer_id: int) -> None:
        """429 once the failed-attempt budget is spent, before the password is
        even looked at: right and wrong passwords get the same answer. Per licence
        with ``license_id``, else per customer (the company password)."""
        limit, window = (
            self.ctx.settings.failed_attempts_limit,
            self.ctx.settings.failed_attempts_window,
        )
        if limit is None:  # RATE_LIMITS=off
            return
        count, oldest = events.recent_failures(
            self.ctx.session,
            license_id=license_id,
            customer_id=None if license_id is not None else customer_id,
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
            license_id=license_id,
            customer_id=customer_id,
        )
        raise RateLimited("Too many failed attempts; try again later.", retry_after=retry)


def verify_key(ctx: Context, license_key: str | None) -> signing.LicenseKeyClaims:
    """The claims of a licence key whose signature verifies, else INVALID_CREDENTIALS.

    Needs no database unless the key names a kid this process has not loaded yet
    (another server rotated): then the keys are reloaded (at most every few seconds)."""
    keyring, session = ctx.keyring, ctx.session
    try:
        return signing.parse_license_key(license_key, keyring.public_keys(session))
    except signing.TokenError:
        kid = _kid_hint(license_key)
        if kid is None or kid in keyring.public_keys(session):
            raise invalid() from None
    try:
        return signing.parse_license_key(license_key, keyring.public_keys(session, kid))
    except signing.TokenError:
        raise invalid() from None


def _unverified_payload(token: str | None) -> dict[str, Any]:
    """A token's payload, unverified: only to know where to look."""
    try:
        payload = json.loads(b64u_decode((token or "").split(".")[1]))
    except (ValueError, IndexError, UnicodeDecodeError, RecursionError):
        return {}
    return payload if isinstance(payload, dict) else {}


def _kid_hint(token: str | None) -> str | None:
    """The kid a token names, unverified: only to know whether to reload keys."""
    kid = _unverified_payload(token).get("kid")
    return kid if isinstance(kid, str) else None


def key_license_id(license_key: str | None) -> str | None:
    """The licence id a key names, unverified: only to look the licence up
    (``check_licence`` then authenticates the key against it)."""
    lid = _unverified_payload(license_key).get("lid")
    return lid if isinstance(lid, str) else None


def _is_issued_key(ctx: Context, lic: LicenceFacts, license_key: str) -> bool:
    """Is this exactly the key the server issued for ``lic`` (and still holds)?"""
    try:
        issued = ctx.box.open(lic.key_enc, KEY_PURPOSE)
    except (InvalidTag, ValueError):
        return False
    return hmac.compare_digest(issued.encode(), license_key.encode())


def check_licence(
    attempt: Attempt,
    creds: Credentials,
    claims: signing.LicenseKeyClaims | None,
    lic: LicenceFacts,
) -> None:
    """Check a licence key or an activation password against the licence it
    names (``claims``: the key's, when already verified). A wrong one is recorded
    and answered INVALID_CREDENTIALS; a spent budget RATE_LIMITED (passwords
    only: a key is not guessable)."""
    ctx = attempt.ctx
    if creds.kind == LICENSE_KEY:
        key = creds.license_key or ""
        if claims is None:
            if _is_issued_key(ctx, lic, key):
                return  # the current key, byte for byte: no signature to check
            claims = verify_key(ctx, key)  # a forgery ends here, unrecorded
        # A reissued key has a new serial: the old one stops working.
        if (claims.lid, claims.ser, claims.prod, claims.cust) != (
            lic.public_id,
            lic.key_serial,
            lic.product,
            lic.customer,
        ):
            attempt.refuse(
                events.CREDENTIAL_FAILURE,
                "superseded licence key",
                license_id=lic.id,
                customer_id=lic.customer_id,
            )
            raise invalid()
        return
    if creds.kind == LEGACY_KEY:
        if creds.license_id != lic.public_id:  # the lookup named another licence
            raise invalid()
        return  # found by the key's keyed hash: authentic
    attempt.check_budget(license_id=lic.id, customer_id=lic.customer_id)
    expected = ctx.box.open(lic.activation_password_enc, PASSWORD_PURPOSE)
    given = creds.activation_password or ""
    if not hmac.compare_digest(expected.encode(), given.encode()):
        attempt.refuse(
            events.CREDENTIAL_FAILURE,
            "wrong activation password",
            license_id=lic.id,
            customer_id=lic.customer_id,
        )
        raise invalid()


# No licence or customer row has id 0: the budget query of an unknown id reads
# an empty range of the same index, doing the same work as for a real one.
_NO_ROW = 0


def unknown_licence(attempt: Attempt, creds: Credentials) -> InvalidCredentials:
    """The answer to credentials naming no licence, after the work a wrong one
    costs, so that neither the answer nor its timing tells which licence ids
    exist: a key's signature is verified (a forgery ends there, unrecorded, as
    for a licence that exists); a password runs the budget query and has its
    refusal recorded (without a licence)."""
    if creds.kind == LICENSE_KEY:
        verify_key(attempt.ctx, creds.license_key)  # raises for every forgery
        why = "licence of a genuine key not found"
    else:
        attempt.check_budget(license_id=_NO_ROW, customer_id=_NO_ROW)
        why = "unknown licence id"
    attempt.refuse(events.CREDENTIAL_FAILURE, why)
    return invalid()


def authenticate_company(attempt: Attempt, creds: Credentials) -> list[int]:
    """The row ids of the customer's licences of the product (oldest first), for a
    right company password; checked in a short read transaction (no lock is held
    while argon2 hashes). Order, as API.md fixes it: the failed-attempt budget
    (429) before the password (401), the password before the product (404)."""
    session = attempt.ctx.session
    try:
        cust = session.scalars(
            select(Customer).where(Customer.number == creds.customer_number)
        ).first()
        if cust is None:
            # The same work as a wrong password: budget query, argon2, a recorded refusal.
            attempt.check_budget(customer_id=_NO_ROW)
            verify_password(None, creds.company_password or "")
            attempt.refuse(events.CREDENTIAL_FAILURE, "unknown customer number")
            raise invalid()
        attempt.check_budget(customer_id=cust.id)
        if not verify_password(cust.company_password_hash, creds.company_password or ""):
            why = (
                "wrong company password"
                if cust.company_password_hash
                else "company password not set"
            )
            attempt.refuse(events.CREDENTIAL_FAILURE, why, customer_id=cust.id)
            raise invalid()
        ids = session.scalars(
            select(License.id)
            .join(Product, Product.id == License.product_id)
            .where(License.customer_id == cust.id, Product.code == creds.product)
            .order_by(License.id)
        ).all()
        if not ids:
            attempt.refuse(
                "NOT_FOUND", f"no licence of product {creds.product!r}", customer_id=cust.id
            )
            raise NotFound(f"This customer holds no licence of product '{creds.product}'.")
        return list(ids)
    finally:
        if session.in_transaction():
            session.commit()
