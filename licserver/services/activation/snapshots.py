"""The licence rows the client API's use cases decide on: SQLAlchemy Core
statements (no ORM objects on the hot paths: docs/performance.md), the reading
of the rows the credentials give access to, and their views for this request.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, cast

from sqlalchemy import Table, and_, bindparam, func, insert, select, update

from licserver import signing
from licserver.domain import policy as rules
from licserver.domain import seats as seat_rules
from licserver.domain.errors import LicenseServerError, ValidationFailed
from licserver.domain.status import effective_status, usability_error
from licserver.models import Activation, Customer, License, Product
from licserver.models.policy import Policy, TrialUse
from licserver.services.activation.entitlements import settings_of
from licserver.services.context import Context
from licserver.services.credentials import (
    LICENSE_KEY,
    Attempt,
    Credentials,
    check_licence,
    invalid,
    key_license_id,
    unknown_licence,
)

_L = cast(Table, License.__table__)
_P = cast(Table, Product.__table__)
_C = cast(Table, Customer.__table__)
_A = cast(Table, Activation.__table__)
_POL = cast(Table, Policy.__table__)
_T = cast(Table, TrialUse.__table__)

# The licence as the seat rule sees it, its product's and customer's facts, and
# this installation's live activation on it (NULLs when there is none). FOR UPDATE
# OF licenses on PostgreSQL; SQLite ignores it (BEGIN IMMEDIATE holds the database).
_SNAPSHOT = (
    select(
        _L.c.id,
        _L.c.public_id,
        _L.c.customer_id,
        _L.c.seats,
        _L.c.seats_used,
        _L.c.status,
        _L.c.expires_at,
        _L.c.features,
        _L.c.key_serial,
        _L.c.key_enc,
        _L.c.activation_password_enc,
        _L.c.history_seq,
        _L.c.history_head,
        _L.c.product_id,
        _L.c.policy_overrides,
        _L.c.first_activated_at,
        _POL.c.settings.label("policy_settings"),
        _P.c.code.label("product"),
        _P.c.offline_grace_days.label("grace_days"),
        _C.c.number.label("customer"),
        _A.c.id.label("live_id"),
        _A.c.public_id.label("live_public_id"),
        _A.c.machine_name.label("live_machine_name"),
        _A.c.activated_at.label("live_activated_at"),
        _A.c.lease_expires_at.label("live_lease_expires_at"),
        _A.c.inactive_since.label("live_inactive_since"),
    )
    .select_from(
        _L.join(_P, _P.c.id == _L.c.product_id)
        .join(_C, _C.c.id == _L.c.customer_id)
        .outerjoin(_POL, _POL.c.id == _L.c.policy_id)
        .outerjoin(
            _A,
            and_(
                _A.c.license_id == _L.c.id,
                _A.c.installation_id == bindparam("iid"),
                _A.c.deactivated_at.is_(None),
            ),
        )
    )
    .order_by(_L.c.id)
)
BY_PUBLIC_ID = _SNAPSHOT.where(_L.c.public_id == bindparam("lid"))
BY_IDS = _SNAPSHOT.where(_L.c.id.in_(bindparam("ids", expanding=True)))
LOCK_BY_PUBLIC_ID = BY_PUBLIC_ID.with_for_update(of=_L)
LOCK_BY_IDS = BY_IDS.with_for_update(of=_L)

INSERT_ACTIVATION = insert(_A)
TAKE_SEAT = (
    update(_L)
    .where(_L.c.id == bindparam("b_id"))
    .values(
        seats_used=_L.c.seats_used + 1,
        updated_at=bindparam("b_now"),
        first_activated_at=func.coalesce(_L.c.first_activated_at, bindparam("b_now")),
    )
)

# An activation with its licence, for check-in.
CHECKIN = (
    select(
        _A.c.id.label("activation_row_id"),
        _A.c.public_id.label("activation_id"),
        _A.c.installation_id,
        _A.c.machine_name,
        _A.c.token_hash,
        _A.c.deactivated_at,
        _A.c.inactive_since,
        _A.c.site_url,
        _L.c.id,
        _L.c.public_id,
        _L.c.customer_id,
        _L.c.seats,
        _L.c.status,
        _L.c.expires_at,
        _L.c.features,
        _L.c.history_seq,
        _L.c.history_head,
        _L.c.policy_overrides,
        _POL.c.settings.label("policy_settings"),
        _P.c.code.label("product"),
        _P.c.offline_grace_days.label("grace_days"),
        _C.c.number.label("customer"),
    )
    .select_from(
        _A.join(_L, _L.c.id == _A.c.license_id)
        .join(_P, _P.c.id == _L.c.product_id)
        .join(_C, _C.c.id == _L.c.customer_id)
        .outerjoin(_POL, _POL.c.id == _L.c.policy_id)
    )
    .where(_A.c.public_id == bindparam("aid"))
)

# The licence a product's trial on an installation was taken on (trials).
TRIAL_OF = select(_T.c.license_id).where(
    _T.c.product_id == bindparam("pid"), _T.c.installation_id == bindparam("iid")
)
INSERT_TRIAL = insert(_T)
# A licence's live activations that sent fingerprints (fingerprint continuity).
HOLDERS = select(
    _A.c.id, _A.c.public_id, _A.c.installation_id, _A.c.activated_at, _A.c.fingerprints
).where(
    _A.c.license_id == bindparam("lid"),
    _A.c.deactivated_at.is_(None),
    _A.c.fingerprints.is_not(None),
)

LICENSES, ACTIVATIONS = _L, _A  # for the writes of activate and check-in


def load(
    ctx: Context,
    attempt: Attempt,
    creds: Credentials,
    claims: signing.LicenseKeyClaims | None,
    company_ids: list[int] | None,
    installation_id: str,
    *,
    lock: bool,
) -> Sequence[Any]:
    """The licence rows the credentials give access to, credentials checked."""
    conn = ctx.session.connection()
    if company_ids is not None:
        q = LOCK_BY_IDS if lock else BY_IDS
        rows = conn.execute(q, {"ids": company_ids, "iid": installation_id}).all()
        if not rows:  # deleted since authentication
            raise invalid()
        return rows
    if claims is not None:
        lid: str | None = claims.lid
    elif creds.kind == LICENSE_KEY:
        lid = key_license_id(creds.license_key)
    else:
        lid = creds.license_id
    if lid is None:
        raise unknown_licence(attempt, creds)
    q = LOCK_BY_PUBLIC_ID if lock else BY_PUBLIC_ID
    rows = conn.execute(q, {"lid": lid, "iid": installation_id}).all()
    if not rows:
        raise unknown_licence(attempt, creds)
    check_licence(attempt, creds, claims, rows[0])
    return rows


@dataclass(frozen=True)
class View:
    """A licence row with its effective settings and status for this request."""

    row: Any
    settings: rules.Settings
    status: str  # effective status
    maintained: bool  # expired, but this version keeps access (maintain_access)

    @property
    def usable(self) -> bool:
        """Nothing about its condition refuses this request (report-only licences
        refuse nothing: their would-be refusals become warnings)."""
        return self.status == "active" or self.maintained or self.settings.report_only

    @property
    def condition_error(self) -> LicenseServerError | None:
        """The 403 its status would answer (None when the status allows the request)."""
        if self.status == "active" or self.maintained:
            return None
        return usability_error(self.status)


def views(rows: Sequence[Any], now: datetime, release_date: date | None) -> list[View]:
    out = []
    for r in rows:
        s = settings_of(r)
        status = effective_status(r.status, r.expires_at, now)
        maintained = status == "expired" and rules.access_after_expiry(
            s, r.expires_at, release_date
        )
        out.append(View(r, s, status, maintained))
    return out


def _live_here(v: View, now: datetime) -> bool:
    """Is this installation active on the licence (floating: with a lease not run out)?"""
    if v.row.live_id is None:
        return False
    lease = v.row.live_lease_expires_at
    return not (v.settings.floating and lease is not None and lease <= now)


def candidates(views: Sequence[View], now: datetime, *, leased: bool = False) -> list[Any]:
    return [
        seat_rules.Candidate(
            key=v.row.id,
            status="active" if v.usable else v.status,
            seats=v.row.seats,
            seats_used=v.row.seats_used,
            expires_at=v.row.expires_at,
            active_here=_live_here(v, now) if leased else v.row.live_id is not None,
        )
        for v in views
    ]


def degenerate(rows: Sequence[Any], installation_id: str) -> ValidationFailed | None:
    """Licences with a policy refuse degenerate installation IDs (all zeros, all F,
    one character repeated: broken or spoofed fingerprinting, which would let
    machines share a seat). Licences without one accept them, as they always did."""
    if not rules.degenerate_id(installation_id):
        return None
    if not any(r.policy_settings is not None or r.policy_overrides for r in rows):
        return None
    return ValidationFailed(
        {
            "installation_id": [
                "This installation ID is one character repeated (all zeros, all F...): "
                "it does not identify a machine."
            ]
        }
    )
