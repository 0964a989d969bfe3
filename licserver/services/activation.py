"""Activation, check-in, deactivation and validation: the client API's use cases.

The seat rule runs in one write transaction that holds the licence: on
PostgreSQL the licence rows are locked with SELECT ... FOR UPDATE; on SQLite
the transaction is opened with BEGIN IMMEDIATE. The partial unique index on
live (licence, installation) pairs backs it up in the database.

These are the server's hot paths, so they are written for few round trips and
no ORM objects (docs/performance.md has the measurements):

- The full path, on both databases: one transaction in which one SELECT reads
  the licence with its product, customer and this installation's live
  activation (and locks the licence); the credentials are checked against that
  row; ``licserver.domain`` decides; the writes follow; a refusal writes its
  event instead (nothing else was written before it). The certificate is signed
  after the commit, from the values read under the lock, so that the lock is
  held for the database work only.
- PostgreSQL, the common cases (a new activation by licence key on a usable
  licence with a free seat; a check-in of a live activation): one statement in
  autocommit that locks, checks, writes and records at once: one round trip.
  When its conditions do not all hold it writes nothing and returns no row, and
  the full path takes over, to decide and explain with the domain's functions.
- Validation reads with one statement (PostgreSQL: in autocommit).

Licence models (docs/licence-models.md): the snapshot carries the licence's
policy settings and overrides, ``licserver.domain.policy`` turns them into the
effective settings, and the full path applies them (floating leases, heartbeat
deadlines, expiry from the first activation, maintained access, trials,
report-only enforcement, licensed sites, fingerprint continuity). The PostgreSQL
fast paths are taken only for licences whose effective settings are plain
(``Settings.plain``: no overrides, and no policy or a plain one).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, cast

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import JSON, Table, and_, bindparam, func, insert, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from licserver import signing
from licserver.crypto import random_token, token_hash, tokens_equal
from licserver.database import begin_autocommit, begin_write, is_postgres
from licserver.domain import budget as budget_rules
from licserver.domain import history as chain
from licserver.domain import policy as rules
from licserver.domain import seats as seat_rules
from licserver.domain.errors import (
    Deactivated,
    DeactivationLimitReached,
    LicenseServerError,
    NotFound,
    SeatLimitReached,
    TrialAlreadyUsed,
    ValidationFailed,
)
from licserver.domain.ids import new_activation_id
from licserver.domain.status import effective_status, usability_error
from licserver.faults import fault
from licserver.models import Activation, Customer, Event, License, Product, utcnow
from licserver.models.base import UTCDateTime
from licserver.models.policy import Policy, TrialUse
from licserver.services import Origin, events, leases
from licserver.services.context import Context
from licserver.services.credentials import (
    COMPANY_PASSWORD,
    LICENSE_KEY,
    Attempt,
    Credentials,
    authenticate_company,
    check_licence,
    invalid,
    key_license_id,
    unknown_licence,
    verify_key,
)
from licserver.services.history import pg_hash_sql, tail_first

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
_BY_PUBLIC_ID = _SNAPSHOT.where(_L.c.public_id == bindparam("lid"))
_BY_IDS = _SNAPSHOT.where(_L.c.id.in_(bindparam("ids", expanding=True)))
_LOCK_BY_PUBLIC_ID = _BY_PUBLIC_ID.with_for_update(of=_L)
_LOCK_BY_IDS = _BY_IDS.with_for_update(of=_L)

_INSERT_ACTIVATION = insert(_A)
_TAKE_SEAT = (
    update(_L)
    .where(_L.c.id == bindparam("b_id"))
    .values(
        seats_used=_L.c.seats_used + 1,
        updated_at=bindparam("b_now"),
        first_activated_at=func.coalesce(_L.c.first_activated_at, bindparam("b_now")),
    )
)

# An activation with its licence, for check-in.
_CHECKIN = (
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
# Only a live activation checks in: a deactivation that committed since our read wins.
_CHECKED_IN = (
    update(_A)
    .where(_A.c.id == bindparam("b_id"), _A.c.deactivated_at.is_(None))
    .values(last_checkin_at=bindparam("b_now"))
)


# PostgreSQL: the common activation (a verified key, a usable licence with a free
# seat, this installation not active on it) as one statement in autocommit: lock,
# check, insert, count and record in one round trip, the lock held only inside it.
# The conditions are the seat rule of ``licserver.domain`` for one licence, seen
# from the side that may pass; anything else returns no row and takes the full
# path, which decides (and explains) with the domain's own functions. The licence
# row is its latest version even after a wait for the lock; the activations it is
# checked against may be older, and the partial unique index stops the rest.
# The event is chained into the licence's history in the statement (h: the hash
# computed in SQL from the locked head; services.history).
_PG_ACTIVATE_CHAIN = {
    "seq": "CAST(ok.history_seq + 1 AS text)",
    "license_id": "CAST(ok.id AS text)",
    "customer_id": "CAST(ok.customer_id AS text)",
}
_PG_ACTIVATE = (
    text(
        """
WITH lic AS (
    SELECT l.id, l.public_id, l.customer_id, l.seats, l.seats_used, l.status,
           l.expires_at, l.features, l.key_serial, l.history_seq, l.history_head,
           l.policy_overrides, pol.settings AS policy_settings, pol.plain AS policy_plain,
           l.policy_id,
           p.code AS product, p.offline_grace_days AS grace_days, c.number AS customer
    FROM licenses l
    JOIN products p ON p.id = l.product_id
    JOIN customers c ON c.id = l.customer_id
    LEFT JOIN policies pol ON pol.id = l.policy_id
    WHERE l.public_id = :lid
    FOR UPDATE OF l
), ok AS (
    SELECT lic.* FROM lic
    WHERE lic.key_serial = :ser AND lic.product = :prod AND lic.customer = :cust
      AND lic.status = 'active' AND (lic.expires_at IS NULL OR lic.expires_at > :now)
      AND lic.seats_used < lic.seats
      AND COALESCE(CAST(lic.policy_overrides AS text), 'null') IN ('null', '{}')
      AND (lic.policy_id IS NULL OR lic.policy_plain)
      AND NOT EXISTS (
          SELECT 1 FROM activations a
          WHERE a.license_id = lic.id AND a.installation_id = :iid
            AND a.deactivated_at IS NULL)
), h AS (
    SELECT ok.id, ok.history_seq + 1 AS seq, ok.history_head AS prev,
           """
        + pg_hash_sql("ok.history_head", _PG_ACTIVATE_CHAIN, "chain_tail")
        + """ AS hash
    FROM ok
), act AS (
    INSERT INTO activations (public_id, license_id, installation_id, machine_name, client,
                             token_hash, ip, activated_at, site_url)
    SELECT :aid, ok.id, :iid, :mn, :client, :th, :ip, :now, :site FROM ok
    RETURNING license_id
), seat AS (
    UPDATE licenses SET seats_used = licenses.seats_used + 1, updated_at = :now,
                        first_activated_at = COALESCE(licenses.first_activated_at, :now),
                        history_seq = h.seq, history_head = h.hash
    FROM h
    WHERE licenses.id = (SELECT license_id FROM act) AND h.id = licenses.id
), ev AS (
    INSERT INTO events (at, kind, license_id, customer_id, activation_id, actor_type,
                        actor_id, installation_id, machine_name, ip, data,
                        chain_seq, chain_prev, chain_hash)
    SELECT :now, 'activation.created', ok.id, ok.customer_id, :aid, :actor_type,
           :actor_id, :iid, :mn, :ip, :data, h.seq, h.prev, h.hash
    FROM ok JOIN h ON h.id = ok.id
)
SELECT ok.* FROM ok
"""
    )
    .bindparams(
        bindparam("now", type_=UTCDateTime()),
        bindparam("client", type_=JSON()),
        bindparam("data", type_=JSON()),
    )
    .columns(
        expires_at=UTCDateTime(), features=JSON(), policy_overrides=JSON(), policy_settings=JSON()
    )
)

# PostgreSQL: a check-in of a live activation on a usable licence with its right
# token, in one statement; anything else returns no row and takes the full path.
# It locks the licence (only while it runs) to chain its event into the licence's
# history, as every writer of a licence's events does.
_PG_CHECKIN_CHAIN = {
    "seq": "CAST(act.history_seq + 1 AS text)",
    "license_id": "CAST(act.id AS text)",
    "customer_id": "CAST(act.customer_id AS text)",
    "activation_id": "act.activation_id",
    "installation_id": "act.installation_id",
    "machine_name": "act.machine_name",
}
_PG_CHECKIN = (
    text(
        """
WITH act AS (
    SELECT a.id AS activation_row_id, a.public_id AS activation_id, a.installation_id,
           a.machine_name, a.site_url, l.id, l.public_id, l.customer_id, l.seats,
           l.expires_at, l.features, l.history_seq, l.history_head,
           l.policy_overrides, pol.settings AS policy_settings,
           p.code AS product, p.offline_grace_days AS grace_days, c.number AS customer
    FROM activations a
    JOIN licenses l ON l.id = a.license_id
    JOIN products p ON p.id = l.product_id
    JOIN customers c ON c.id = l.customer_id
    LEFT JOIN policies pol ON pol.id = l.policy_id
    WHERE a.public_id = :aid AND a.token_hash = :th AND a.deactivated_at IS NULL
      AND a.inactive_since IS NULL
      AND l.status = 'active' AND (l.expires_at IS NULL OR l.expires_at > :now)
      AND COALESCE(CAST(l.policy_overrides AS text), 'null') IN ('null', '{}')
      AND (l.policy_id IS NULL OR pol.plain)
    FOR UPDATE OF l
), upd AS (
    UPDATE activations SET last_checkin_at = :now
    WHERE activations.id = (SELECT activation_row_id FROM act)
      AND activations.deactivated_at IS NULL
    RETURNING activations.id
), h AS (
    SELECT act.id, act.history_seq + 1 AS seq, act.history_head AS prev,
           """
        + pg_hash_sql("act.history_head", _PG_CHECKIN_CHAIN, "chain_tail")
        + """ AS hash
    FROM act JOIN upd ON upd.id = act.activation_row_id
), mv AS (
    UPDATE licenses SET history_seq = h.seq, history_head = h.hash
    FROM h WHERE licenses.id = h.id
), ev AS (
    INSERT INTO events (at, kind, license_id, customer_id, activation_id, actor_type,
                        actor_id, installation_id, machine_name, ip, data,
                        chain_seq, chain_prev, chain_hash)
    SELECT :now, 'activation.checked_in', act.id, act.customer_id, act.activation_id,
           :actor_type, :actor_id, act.installation_id, act.machine_name, :ip, '{}',
           h.seq, h.prev, h.hash
    FROM act JOIN h ON h.id = act.id
)
SELECT act.* FROM act JOIN upd ON upd.id = act.activation_row_id
"""
    )
    .bindparams(bindparam("now", type_=UTCDateTime()))
    .columns(
        expires_at=UTCDateTime(), features=JSON(), policy_overrides=JSON(), policy_settings=JSON()
    )
)


@dataclass(frozen=True)
class PolicyWarning:
    """A would-be refusal of a report-only licence: recorded and reported, not enforced."""

    code: str
    detail: str

    def to_json(self) -> dict[str, str]:
        return {"code": self.code, "detail": self.detail}


@dataclass(frozen=True)
class Request:
    """What a client sends besides its credentials and installation (licence models)."""

    site_url: str | None = None  # normalised; the installation ID is derived from it
    fingerprints: dict[str, str] | None = None
    release_date: date | None = None
    features: tuple[str, ...] | None = None  # validation: the features asked for


NO_REQUEST = Request()


@dataclass
class ActivationResult:
    activation_id: str
    license_id: str
    installation_id: str
    machine_name: str
    activated_at: datetime
    certificate: str
    activation_token: str
    created: bool
    model: str = rules.NODE_LOCKED
    lease_expires_at: datetime | None = None
    features: list[str] = field(default_factory=list)
    warnings: list[PolicyWarning] = field(default_factory=list)
    moved_from: str | None = None


@dataclass
class CheckinResult:
    certificate: str
    lease_expires_at: datetime | None = None
    warnings: list[PolicyWarning] = field(default_factory=list)


@dataclass(frozen=True)
class LicenseSummary:
    id: str
    product: str
    seats: int
    seats_used: int
    expires_at: datetime | None
    features: list[str] = field(default_factory=list)
    model: str = rules.NODE_LOCKED
    has_policy: bool = False  # follows a policy, or has overrides of the defaults


@dataclass
class ValidationResult:
    valid: bool
    code: str
    license: LicenseSummary
    status: str
    warnings: list[PolicyWarning] = field(default_factory=list)
    missing_features: list[str] | None = None  # only when features were asked for


def _chain_tail(params: dict[str, Any], kind: str, head: dict[str, str]) -> str:
    """The canonical form's fields a PostgreSQL fast path's event takes from its
    parameters (``services.history``), the fields before them made in SQL."""
    event = {
        "activation_id": params.get("aid"),
        "installation_id": params.get("iid"),
        "machine_name": params.get("mn"),
        "at": params["now"],
        "kind": kind,
        "actor_type": params["actor_type"],
        "actor_id": params["actor_id"],
        "ip": params["ip"],
        "reason": None,
        "data": params.get("data", {}),
    }
    return chain.canonical_tail(event, tail_first(head))


def _head(row: Any) -> chain.Head:
    """The licence's history head as ``row`` (read under its lock) has it."""
    return chain.Head(row.history_seq, row.history_head)


def _ts(value: datetime | None) -> int | None:
    return int(value.timestamp()) if value is not None else None


def _iso(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def settings_of(row: Any) -> rules.Settings:
    """The effective settings of the licence a snapshot row describes."""
    return rules.resolve(
        getattr(row, "policy_settings", None), getattr(row, "policy_overrides", None)
    )


def _features(s: rules.Settings, licence_features: list[Any] | None) -> list[Any]:
    """The entitlements: the policy's and the licence's, sorted
    (``policy.features``); a licence whose policy grants none keeps its own list
    as it always has."""
    if not s.features:
        return list(licence_features or [])
    return rules.features(s, licence_features)


@dataclass(frozen=True)
class Terms:
    """What a certificate says beyond the licence row it is made from."""

    settings: rules.Settings
    expires_at: datetime | None
    lease_expires_at: datetime | None = None
    warn: tuple[str, ...] = ()
    site: str | None = None


def issue_certificate(
    signer: tuple[str, Ed25519PrivateKey],
    lic: Any,
    activation_id: str,
    installation_id: str,
    machine_name: str,
    now: datetime,
    terms: Terms | None = None,
) -> str:
    """An AC1 certificate. ``lic`` carries the licence's ``public_id``, ``product``
    (code), ``customer`` (number), ``seats``, ``features``, ``expires_at`` and
    ``grace_days`` (the product's offline grace), and its policy's settings and
    overrides when it has them; ``terms`` what this request decided beyond them."""
    kid, key = signer
    if terms is None:
        terms = Terms(settings_of(lic), lic.expires_at, getattr(lic, "lease_expires_at", None))
    s = terms.settings
    until = rules.certificate_until(s, now, lic.grace_days)
    if terms.lease_expires_at is not None:
        until = min(until, terms.lease_expires_at)
    payload = signing.certificate_payload(
        aid=activation_id,
        lid=lic.public_id,
        prod=lic.product,
        cust=lic.customer,
        iid=installation_id,
        mn=machine_name,
        seats=lic.seats,
        features=_features(s, lic.features),
        iat=int(now.timestamp()),
        exp=_ts(terms.expires_at),
        until=int(until.timestamp()),
        model=rules.FLOATING if s.floating else None,
        lease=_ts(terms.lease_expires_at) if s.floating else None,
        hb=s.heartbeat_interval if s.heartbeat_required else None,
        acc=rules.MAINTAIN_ACCESS if s.expired_access == rules.MAINTAIN_ACCESS else None,
        warn=list(terms.warn) or None,
        site=terms.site,
    )
    return signing.encode(signing.CERTIFICATE_PREFIX, payload, kid, key)


@dataclass(frozen=True)
class _View:
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


def _views(rows: Sequence[Any], now: datetime, release_date: date | None) -> list[_View]:
    out = []
    for r in rows:
        s = settings_of(r)
        status = effective_status(r.status, r.expires_at, now)
        maintained = status == "expired" and rules.access_after_expiry(
            s, r.expires_at, release_date
        )
        out.append(_View(r, s, status, maintained))
    return out


def _live_here(v: _View, now: datetime) -> bool:
    """Is this installation active on the licence (floating: with a lease not run out)?"""
    if v.row.live_id is None:
        return False
    lease = v.row.live_lease_expires_at
    return not (v.settings.floating and lease is not None and lease <= now)


def _candidates(views: Sequence[_View], now: datetime, *, leased: bool = False) -> list[Any]:
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


class _Refusal(Exception):
    """A refusal to record in the licence's history, then answer with ``error``.
    ``head_known``: nothing was written to the licence's history in this
    transaction since ``lic`` was read (its head is still current)."""

    def __init__(self, error: LicenseServerError, lic: Any, *, head_known: bool = True) -> None:
        self.error, self.lic, self.head_known = error, lic, head_known


def _load(
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
        q = _LOCK_BY_IDS if lock else _BY_IDS
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
    q = _LOCK_BY_PUBLIC_ID if lock else _BY_PUBLIC_ID
    rows = conn.execute(q, {"lid": lid, "iid": installation_id}).all()
    if not rows:
        raise unknown_licence(attempt, creds)
    check_licence(attempt, creds, claims, rows[0])
    return rows


def activate(
    ctx: Context,
    creds: Credentials,
    installation_id: str,
    machine_name: str,
    client: dict[str, Any] | None,
    origin: Origin,
    *,
    event_data: dict[str, Any] | None = None,
    request: Request = NO_REQUEST,
) -> ActivationResult:
    """Activate ``installation_id`` on the licence the credentials name (or choose,
    for a company password): 201 ``created``, or 200 when it was active there (or
    when fingerprint continuity moved an activation to it).
    ``event_data``: more facts for the history event (offline activation: ``offline``).
    ``request``: the licence models' extras (site, fingerprints, release date)."""
    attempt = Attempt(ctx, origin, "activation.refused", installation_id, machine_name)
    session = ctx.session
    claims, company_ids = None, None
    signer = ctx.keyring.signer(session)  # cached per process
    if creds.kind == LICENSE_KEY:
        # Verified before any lock is taken: a forged key costs no one a turn.
        claims = verify_key(ctx, creds.license_key)
        fast = not request.fingerprints and not rules.degenerate_id(installation_id)
        if fast and is_postgres(session):
            done = _activate_pg(ctx, attempt, claims, client, signer, event_data, request)
            if done is not None:
                return done
    elif creds.kind == COMPANY_PASSWORD:
        company_ids = authenticate_company(attempt, creds)
    args = (ctx, attempt, creds, claims, company_ids, client, signer, event_data, request)
    try:
        return _activate(*args)
    except IntegrityError:
        # PostgreSQL: a request of this same installation inserted its activation
        # (or, on a trial, its trial) after our read (a unique index stopped ours).
        # Once more: it is found.
        session.rollback()
        return _activate(*args)


def _activate_pg(
    ctx: Context,
    attempt: Attempt,
    claims: signing.LicenseKeyClaims,
    client: dict[str, Any] | None,
    signer: tuple[str, Ed25519PrivateKey],
    event_data: dict[str, Any] | None = None,
    request: Request = NO_REQUEST,
) -> ActivationResult | None:
    """The common activation in one statement (``_PG_ACTIVATE``), or None for the full path."""
    session = ctx.session
    installation_id, machine_name = attempt.installation_id, attempt.machine_name
    assert installation_id is not None and machine_name is not None
    now, token, activation_id = utcnow(), random_token(), new_activation_id()
    params = {
        "lid": claims.lid,
        "ser": claims.ser,
        "prod": claims.prod,
        "cust": claims.cust,
        "iid": installation_id,
        "mn": machine_name,
        "client": client,
        "aid": activation_id,
        "th": token_hash(token),
        "ip": attempt.origin.ip,
        "now": now,
        "site": request.site_url,
        "actor_type": attempt.origin.actor.type,
        "actor_id": attempt.origin.actor.id,
        "data": {**({"client": client} if client else {}), **(event_data or {})},
    }
    params["chain_tail"] = _chain_tail(params, "activation.created", _PG_ACTIVATE_CHAIN)
    try:
        fault("before_commit")  # test-only; the statement commits on its own
        lic = begin_autocommit(session).execute(_PG_ACTIVATE, params).first()
        if lic is not None:
            fault("after_commit")  # test-only
    except IntegrityError:
        lic = None  # this installation activated meanwhile: the full path re-activates it
    finally:
        session.rollback()  # ends the session's (autocommit) work; nothing to undo
    if lic is None:
        return None
    terms = Terms(settings_of(lic), lic.expires_at, site=request.site_url)
    return ActivationResult(
        activation_id=activation_id,
        license_id=lic.public_id,
        installation_id=installation_id,
        machine_name=machine_name,
        activated_at=now,
        certificate=issue_certificate(
            signer, lic, activation_id, installation_id, machine_name, now, terms
        ),
        activation_token=token,
        created=True,
        features=_features(terms.settings, lic.features),
    )


@dataclass
class _Written:
    lic: Any
    activation_id: str
    activated_at: datetime
    created: bool
    terms: Terms
    warnings: list[PolicyWarning]
    moved_from: str | None = None


def _activate(
    ctx: Context,
    attempt: Attempt,
    creds: Credentials,
    claims: signing.LicenseKeyClaims | None,
    company_ids: list[int] | None,
    client: dict[str, Any] | None,
    signer: tuple[str, Ed25519PrivateKey],
    event_data: dict[str, Any] | None = None,
    request: Request = NO_REQUEST,
) -> ActivationResult:
    session = ctx.session
    installation_id, machine_name = attempt.installation_id, attempt.machine_name
    assert installation_id is not None and machine_name is not None
    begin_write(session)
    try:
        now = utcnow()
        token = random_token()
        rows = _load(ctx, attempt, creds, claims, company_ids, installation_id, lock=True)
        written = _write(
            attempt, rows, client, token, now, request, final=False, event_data=event_data
        )
        if written is None:
            # PostgreSQL, READ COMMITTED: after waiting for the lock, the licence rows
            # are their latest versions but the joined activations are as of the
            # statement's start. Read again, under the lock we now hold: current.
            # (Also every refusal and every full licence: decided on current rows.)
            rows = _load(ctx, attempt, creds, claims, company_ids, installation_id, lock=True)
            written = _write(
                attempt, rows, client, token, now, request, final=True, event_data=event_data
            )
        assert written is not None
        fault("before_commit")  # test-only
        session.commit()
        fault("after_commit")  # test-only
    except _Refusal as refusal:
        _record_refusal(attempt, refusal)
        raise refusal.error from None
    except BaseException:
        session.rollback()
        raise
    lic, terms = written.lic, written.terms
    cert = issue_certificate(
        signer, lic, written.activation_id, installation_id, machine_name, now, terms
    )
    return ActivationResult(
        activation_id=written.activation_id,
        license_id=lic.public_id,
        installation_id=installation_id,
        machine_name=machine_name,
        activated_at=written.activated_at,
        certificate=cert,
        activation_token=token,
        created=written.created,
        model=terms.settings.model,
        lease_expires_at=terms.lease_expires_at,
        features=_features(terms.settings, lic.features),
        warnings=written.warnings,
        moved_from=written.moved_from,
    )


class _History:
    """The events one transaction adds to one licence's history: the head read
    under the lock serves the first; later ones read it again (SQLite)."""

    def __init__(self, session: Session, origin: Origin, lic: Any) -> None:
        self.session, self.origin, self.lic = session, origin, lic
        self.head: chain.Head | None = _head(lic)
        self.written = False

    def add(self, kind: str, **kw: Any) -> None:
        events.add(
            self.session,
            kind,
            self.origin,
            license_id=self.lic.id,
            customer_id=self.lic.customer_id,
            head=self.head,
            **kw,
        )
        self.head, self.written = None, True

    def moved(self) -> None:
        """Something else wrote to the licence's history (``leases.settle``)."""
        self.head, self.written = None, True

    def report(
        self, action: str, warnings: Sequence[PolicyWarning], at: datetime, **kw: Any
    ) -> None:
        """One ``enforcement.reported`` event per would-be refusal of a report-only licence."""
        for w in warnings:
            self.add(
                "enforcement.reported",
                reason=w.code,
                data={"action": action, "why": w.detail},
                at=at,
                **kw,
            )


def _warning(err: LicenseServerError) -> PolicyWarning:
    return PolicyWarning(err.code, err.detail)


_TRIAL_OF = select(_T.c.license_id).where(
    _T.c.product_id == bindparam("pid"), _T.c.installation_id == bindparam("iid")
)
_INSERT_TRIAL = insert(_T)
_HOLDERS = select(
    _A.c.id, _A.c.public_id, _A.c.installation_id, _A.c.activated_at, _A.c.fingerprints
).where(
    _A.c.license_id == bindparam("lid"),
    _A.c.deactivated_at.is_(None),
    _A.c.fingerprints.is_not(None),
)


def _trial_taken(conn: Any, lic: Any, installation_id: str) -> bool | None:
    """A trial licence: has this installation had its trial of the product on
    another licence (True), on this one (False), or not at all (None)?"""
    other = conn.execute(_TRIAL_OF, {"pid": lic.product_id, "iid": installation_id}).scalar()
    if other is None:
        return None
    return bool(other != lic.id)


def _continuity(
    conn: Any, lic: Any, s: rules.Settings, offered: dict[str, str] | None
) -> tuple[Any, list[str]] | None:
    """The live activation this new installation ID takes the place of (fingerprint
    continuity), with the names that matched; None when none does."""
    if not offered or s.fingerprint_matches <= 0:
        return None
    holders = [
        rules.Holder(key=r, installation_id=r.installation_id, fingerprints=r.fingerprints or {})
        for r in conn.execute(_HOLDERS, {"lid": lic.id})
        if isinstance(r.fingerprints, dict)
    ]
    found = rules.continuity_match(s, offered, holders)
    if found is None:
        return None
    holder, matched = found
    return holder.key, matched


def _write(
    attempt: Attempt,
    rows: Sequence[Any],
    client: dict[str, Any] | None,
    token: str,
    now: datetime,
    request: Request = NO_REQUEST,
    *,
    final: bool,
    event_data: dict[str, Any] | None = None,
) -> _Written | None:
    """Decide on ``rows`` and write the activation. Unless ``final``, None instead
    of a refusal (or of a full licence), or of a re-activation whose activation is
    no longer live: the rows may be stale."""
    session = attempt.ctx.session
    origin = attempt.origin
    installation_id, machine_name = attempt.installation_id, attempt.machine_name
    assert installation_id is not None and machine_name is not None
    degenerate = _degenerate(rows, installation_id)
    if degenerate is not None:
        if not final:
            return None
        raise _Refusal(degenerate, rows[0])
    views = _views(rows, now, request.release_date)
    try:
        view, full = _choose(views, now)
    except _Refusal:
        if final:
            raise
        return None
    if full and not final:
        return None
    lic, s = view.row, view.settings
    conn = session.connection()
    history = _History(session, origin, lic)
    warnings: list[PolicyWarning] = []
    condition = view.condition_error
    if condition is not None:  # a report-only licence (else _choose refused)
        warnings.append(_warning(condition))
    lease = rules.lease_until(s, now)
    deadline = rules.heartbeat_deadline(s, now)
    expires_at = lic.expires_at
    moved_from: str | None = None
    fingerprints = request.fingerprints
    data: dict[str, Any]
    if lic.live_id is not None:
        # Already active here: no second seat, a fresh token (the old stops working);
        # a floating lease is renewed (even one run out but not yet released).
        changes: dict[str, Any] = {}
        values: dict[str, Any] = {"token_hash": token_hash(token), "ip": origin.ip}
        if lic.live_machine_name != machine_name:
            changes["machine_name"] = {"from": lic.live_machine_name, "to": machine_name}
            values["machine_name"] = machine_name
        if client is not None:
            values["client"] = client
        if not s.plain or lic.live_inactive_since is not None:
            values.update(lease_expires_at=lease, heartbeat_deadline=deadline, inactive_since=None)
        if fingerprints:
            values["fingerprints"] = fingerprints
        done = conn.execute(
            update(_A).where(_A.c.id == lic.live_id, _A.c.deactivated_at.is_(None)).values(**values)
        )
        if done.rowcount != 1:
            if final:  # deactivations take the licence lock first: cannot happen
                raise RuntimeError("live activation changed under the licence lock")
            return None
        activation_id, activated_at, created = lic.live_public_id, lic.live_activated_at, False
        kind, data = "activation.reused", changes
    else:
        trial = _trial_taken(conn, lic, installation_id) if s.trial else None
        if trial:
            err: LicenseServerError = TrialAlreadyUsed(
                "This machine has already had its trial of this product; "
                "ask your vendor for a licence."
            )
            if not s.report_only:
                raise _Refusal(err, lic)
            warnings.append(_warning(err))
        move = _continuity(conn, lic, s, fingerprints)
        if move is not None:
            # Fingerprint continuity: the same machine under a new installation ID
            # (a BIOS update, an OS reinstall) keeps its activation and its seat.
            holder, matched = move
            conn.execute(
                update(_A)
                .where(_A.c.id == holder.id, _A.c.deactivated_at.is_(None))
                .values(
                    installation_id=installation_id,
                    machine_name=machine_name,
                    token_hash=token_hash(token),
                    ip=origin.ip,
                    fingerprints=fingerprints,
                    site_url=request.site_url,
                    lease_expires_at=lease,
                    heartbeat_deadline=deadline,
                    inactive_since=None,
                    **({"client": client} if client is not None else {}),
                )
            )
            activation_id, activated_at, created = holder.public_id, holder.activated_at, False
            moved_from = holder.installation_id
            kind = "activation.moved"
            data = {"from": moved_from, "to": installation_id, "matched": matched}
        else:
            if full:
                # Free what the rules say is no longer held (floating leases run
                # out; silent machines, with free_seat_when_inactive), then decide again.
                freed = 0
                if s.floating or (s.heartbeat_required and s.free_seat_when_inactive):
                    settled = leases.settle(
                        session,
                        lic.id,
                        lic.customer_id,
                        s,
                        now,
                        head=history.head,
                        actions=leases.FREEING,
                    )
                    freed = settled.seats_freed
                    if freed:
                        history.moved()
                if lic.seats_used - freed >= lic.seats:
                    seat_err = SeatLimitReached(
                        f"All {lic.seats} seat(s) of this licence are in use."
                    )
                    if not s.report_only:
                        raise _Refusal(seat_err, lic, head_known=not history.written)
                    warnings.append(_warning(seat_err))
            activation_id, activated_at, created = new_activation_id(), now, True
            conn.execute(
                _INSERT_ACTIVATION,
                {
                    "public_id": activation_id,
                    "license_id": lic.id,
                    "installation_id": installation_id,
                    "machine_name": machine_name,
                    "client": client,
                    "token_hash": token_hash(token),
                    "ip": origin.ip,
                    "activated_at": now,
                    "lease_expires_at": lease,
                    "heartbeat_deadline": deadline,
                    "site_url": request.site_url,
                    "fingerprints": fingerprints,
                },
            )
            # the row is ours until commit (locked / BEGIN IMMEDIATE)
            conn.execute(_TAKE_SEAT, {"b_id": lic.id, "b_now": now})
            if s.trial and trial is None:
                # the unique index settles two first trials of one machine at once
                conn.execute(
                    _INSERT_TRIAL,
                    {
                        "product_id": lic.product_id,
                        "installation_id": installation_id,
                        "license_id": lic.id,
                        "at": now,
                    },
                )
            kind = "activation.created"
            data = {"client": client} if client else {}
            new_expiry = rules.expiry_at_first_activation(
                s, now, lic.expires_at, lic.first_activated_at
            )
            if new_expiry != lic.expires_at and new_expiry is not None:
                conn.execute(
                    update(_L)
                    .where(_L.c.id == lic.id)
                    .values(expires_at=new_expiry, first_activated_at=now, updated_at=now)
                )
                expires_at = new_expiry
                data = {**data, "expiry_started": _iso(new_expiry)}
    if event_data:
        data = {**data, **event_data}
    who = {
        "activation_id": activation_id,
        "installation_id": installation_id,
        "machine_name": machine_name,
    }
    history.add(kind, data=data, at=now, **who)
    history.report("activate", warnings, now, **who)
    terms = Terms(
        s,
        expires_at,
        lease,
        tuple(w.code for w in warnings),
        request.site_url,
    )
    return _Written(lic, activation_id, activated_at, created, terms, warnings, moved_from)


def _degenerate(rows: Sequence[Any], installation_id: str) -> ValidationFailed | None:
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


def _choose(views: Sequence[_View], now: datetime) -> tuple[_View, bool]:
    """The licence to activate on (API.md's rule) and whether it is full, or the
    refusal when none is usable."""
    candidates = _candidates(views, now)
    by_id = {v.row.id: v for v in views}
    chosen = seat_rules.choose_license(candidates)
    if chosen is not None:
        return by_id[chosen.key], False
    usable = [c for c in candidates if c.status == "active"]
    if not usable:
        worst = seat_rules.refusal_for_unusable(candidates)
        err = usability_error(worst.status)
        assert err is not None
        raise _Refusal(err, by_id[worst.key].row)
    # every usable licence is full: the first one answers (its seat limit)
    return by_id[usable[0].key], True


def _record_refusal(attempt: Attempt, refusal: _Refusal, activation_id: str | None = None) -> None:
    """Write the refusal into the licence's history, in the transaction that
    decided it, and commit (with what it wrote before: leases it released)."""
    session = attempt.ctx.session
    try:
        events.add(
            session,
            attempt.kind,
            attempt.origin,
            license_id=refusal.lic.id,
            customer_id=refusal.lic.customer_id,
            activation_id=activation_id,
            installation_id=attempt.installation_id,
            machine_name=attempt.machine_name,
            reason=refusal.error.code,
            data={"why": refusal.error.detail},
            head=_head(refusal.lic) if refusal.head_known else None,
        )
        session.commit()
    except BaseException:
        session.rollback()
        raise


def checkin(ctx: Context, activation_id: str, activation_token: str, origin: Origin) -> str:
    """A fresh certificate for a live activation, or the reason there is none."""
    return check_in(ctx, activation_id, activation_token, origin).certificate


def check_in(
    ctx: Context,
    activation_id: str,
    activation_token: str,
    origin: Origin,
    *,
    release_date: date | None = None,
) -> CheckinResult:
    """A fresh certificate for a live activation (floating: a renewed lease), or
    the reason there is none."""
    session = ctx.session
    signer = ctx.keyring.signer(session)
    if is_postgres(session):
        now = utcnow()
        params = {
            "aid": activation_id,
            "th": token_hash(activation_token),
            "now": now,
            "actor_type": origin.actor.type,
            "actor_id": origin.actor.id,
            "ip": origin.ip,
        }
        params["chain_tail"] = _chain_tail(params, "activation.checked_in", _PG_CHECKIN_CHAIN)
        try:
            row = begin_autocommit(session).execute(_PG_CHECKIN, params).first()
        finally:
            session.rollback()  # ends the session's (autocommit) work; nothing to undo
        if row is not None:
            terms = Terms(settings_of(row), row.expires_at, site=row.site_url)
            return CheckinResult(
                issue_certificate(
                    signer,
                    row,
                    row.activation_id,
                    row.installation_id,
                    row.machine_name,
                    now,
                    terms,
                )
            )
    begin_write(session)
    warnings: list[PolicyWarning] = []
    try:
        conn = session.connection()
        row = conn.execute(_CHECKIN, {"aid": activation_id}).first()
        if row is None:
            raise invalid()
        attempt = Attempt(
            ctx, origin, "activation.checkin_refused", row.installation_id, row.machine_name
        )
        if not tokens_equal(row.token_hash, activation_token):
            raise _Refusal(invalid(), row)
        if row.deactivated_at is not None:
            raise _Refusal(Deactivated("This activation was deactivated."), row)
        now = utcnow()
        (view,) = _views([row], now, release_date)
        s = view.settings
        err = view.condition_error
        if err is not None:
            if not s.report_only:
                raise _Refusal(err, row)
            warnings.append(_warning(err))
        lease = rules.lease_until(s, now)
        values: dict[str, Any] = {"last_checkin_at": now}
        if not s.plain or row.inactive_since is not None:
            values.update(
                lease_expires_at=lease,
                heartbeat_deadline=rules.heartbeat_deadline(s, now),
                inactive_since=None,
            )
        done = conn.execute(
            update(_A)
            .where(_A.c.id == row.activation_row_id, _A.c.deactivated_at.is_(None))
            .values(**values)
        )
        if done.rowcount != 1:
            raise _Refusal(Deactivated("This activation was deactivated."), row)
        history = _History(session, origin, row)
        who = {
            "activation_id": row.activation_id,
            "installation_id": row.installation_id,
            "machine_name": row.machine_name,
        }
        history.add("activation.checked_in", at=now, **who)
        if row.inactive_since is not None:
            history.add(
                "activation.active_again",
                data={"inactive_since": _iso(row.inactive_since)},
                at=now,
                **who,
            )
        history.report("checkin", warnings, now, **who)
        session.commit()
    except _Refusal as refusal:
        _record_refusal(attempt, refusal, activation_id=refusal.lic.activation_id)
        raise refusal.error from None
    except BaseException:
        session.rollback()
        raise
    terms = Terms(s, row.expires_at, lease, tuple(w.code for w in warnings), row.site_url)
    cert = issue_certificate(
        signer, row, row.activation_id, row.installation_id, row.machine_name, now, terms
    )
    return CheckinResult(cert, lease, warnings)


def _load_activation(session: Session, public_id: str) -> Activation | None:
    return session.scalars(select(Activation).where(Activation.public_id == public_id)).first()


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


def licence_settings(lic: License) -> rules.Settings:
    """The effective settings of a licence loaded with the ORM."""
    return rules.resolve(
        lic.policy.settings if lic.policy is not None else None, lic.policy_overrides
    )


def licence_features(lic: License) -> list[Any]:
    """The entitlements of a licence loaded with the ORM."""
    return _features(licence_settings(lic), lic.features)


def deactivate(
    ctx: Context,
    activation_id: str,
    origin: Origin,
    *,
    activation_token: str | None = None,
    reason: str | None = None,
) -> Activation:
    """Free the activation's seat. With ``activation_token`` it is the client's own
    call (a wrong token is INVALID_CREDENTIALS); without, an admin's or a portal
    user's, already authorised (an unknown id is NOT_FOUND). Repeating it is a
    no-op answering the first deactivation. A floating lease is released: it never
    spends the transfer budget."""
    act, _ = deactivate_reporting(
        ctx, activation_id, origin, activation_token=activation_token, reason=reason
    )
    return act


def deactivate_reporting(
    ctx: Context,
    activation_id: str,
    origin: Origin,
    *,
    activation_token: str | None = None,
    reason: str | None = None,
) -> tuple[Activation, list[PolicyWarning]]:
    """``deactivate``, with the warnings of a report-only licence (a transfer
    budget it would have refused)."""
    session = ctx.session
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
            return act, []
        lic = _lock_licenses(session, [act.license_id])[0]
        # Re-read under the lock: a concurrent deactivation may have won.
        session.refresh(act)
        if act.deactivated_at is not None:
            session.commit()
            return act, []
        s = licence_settings(lic)
        warnings: list[PolicyWarning] = []
        if not s.floating:  # a floating release never counts
            refusal = _check_deactivation_budget(ctx, origin, lic, act, s)
            if refusal is not None:
                warnings.append(_warning(refusal))
        act.deactivated_at = utcnow()
        act.deactivated_by_type = origin.actor.type
        act.deactivated_by_id = origin.actor.id
        act.deactivation_reason = reason
        lic.seats_used -= 1
        events.record(
            session,
            "activation.deactivated",
            origin,
            license=lic,
            activation=act,
            reason=reason,
            data={"lease": True} if s.floating else None,
        )
        for w in warnings:
            events.record(
                session,
                "enforcement.reported",
                origin,
                license=lic,
                activation=act,
                reason=w.code,
                data={"action": "deactivate", "why": w.detail},
            )
        session.commit()
        return act, warnings
    except BaseException:
        session.rollback()
        raise


def _check_deactivation_budget(
    ctx: Context,
    origin: Origin,
    lic: License,
    act: Activation,
    settings: rules.Settings = rules.DEFAULTS,
) -> DeactivationLimitReached | None:
    """DEACTIVATION_LIMIT_REACHED once the licence's client and portal deactivations
    in the window have used its budget (``licserver.domain.budget``; the policy's
    ``transfer_budget``, else the server's). Runs under the licence lock, so
    concurrent deactivations cannot both take the last one. The refusal is
    recorded (``activation.deactivation_refused``) and committed; a report-only
    licence is not refused: the would-be refusal is returned."""
    budget = settings.budget(ctx.settings.deactivation_budget)
    if budget is None or not budget_rules.spends_deactivation_budget(origin.actor.type):
        return None
    session = ctx.session
    now = utcnow()
    earlier = session.scalars(
        select(Event.at)
        .where(
            Event.license_id == lic.id,
            Event.kind == "activation.deactivated",
            Event.at > now - budget.window,
            Event.actor_type.in_(sorted(budget_rules.DEACTIVATION_ACTORS)),
        )
        .order_by(Event.at.desc())
        .limit(budget.count)
    ).all()
    until = budget_rules.next_allowed(budget, earlier, now)
    if until is None:
        return None
    error = DeactivationLimitReached(
        f"This licence's installations were deactivated {budget.count} time(s) in the "
        f"last {budget.window_text()}, the most allowed. The next deactivation is possible from "
        f"{until.strftime('%Y-%m-%dT%H:%M:%SZ')}; your vendor can deactivate it sooner.",
        retry_after=int((until - now).total_seconds()) + 1,
    )
    if settings.report_only:
        return error
    events.record(
        session,
        "activation.deactivation_refused",
        origin,
        license=lic,
        activation=act,
        reason=error.code,
        data={"why": error.detail},
    )
    session.commit()
    raise error


FEATURE_MISSING = "FEATURE_MISSING"


def validate(
    ctx: Context,
    creds: Credentials,
    installation_id: str,
    origin: Origin,
    *,
    request: Request = NO_REQUEST,
) -> ValidationResult:
    """Read-only: is this installation licensed now? Answers with a code, not an
    error. (A report-only licence's would-be refusals are recorded.)"""
    attempt = Attempt(ctx, origin, "validation.refused", installation_id, None)
    session = ctx.session
    company_ids = None
    if creds.kind == COMPANY_PASSWORD:
        company_ids = authenticate_company(attempt, creds)
    try:
        begin_autocommit(session)  # one statement reads all it needs
        rows = _load(ctx, attempt, creds, None, company_ids, installation_id, lock=False)
        degenerate = _degenerate(rows, installation_id)
        if degenerate is not None:
            raise degenerate
        now = utcnow()
        views = _views(rows, now, request.release_date)
        candidates = _candidates(views, now, leased=True)
        by_id = {v.row.id: v for v in views}
        here = [c for c in candidates if c.active_here]
        pick = (
            next((c for c in here if c.status == "active"), None)
            or seat_rules.choose_license(candidates)
            or (here[0] if here else None)
            or seat_rules.refusal_for_unusable(candidates)
        )
        view = by_id[pick.key]
        s, lic = view.settings, view.row
        warnings: list[PolicyWarning] = []
        if pick.status != "active":
            code = f"LICENSE_{pick.status.upper()}"
        elif pick.active_here:
            code = "VALID"
            err = view.condition_error
            if err is not None:  # report-only
                warnings.append(_warning(err))
        else:
            code = "NOT_ACTIVATED"
        granted = _features(s, lic.features)
        missing = None
        if request.features is not None:
            missing = rules.missing_features(granted, request.features)
            if missing and code == "VALID":
                detail = f"This licence does not include: {', '.join(missing)}."
                if s.report_only:
                    warnings.append(PolicyWarning(FEATURE_MISSING, detail))
                else:
                    code = FEATURE_MISSING
        summary = LicenseSummary(
            lic.public_id,
            lic.product,
            lic.seats,
            lic.seats_used,
            lic.expires_at,
            granted,
            s.model,
            lic.policy_settings is not None or bool(lic.policy_overrides),
        )
        result = ValidationResult(code == "VALID", code, summary, view.status, warnings, missing)
    finally:
        if session.in_transaction():
            session.commit()
    if warnings:
        _report_validation(ctx, origin, lic, installation_id, warnings)
    return result


def _report_validation(
    ctx: Context, origin: Origin, lic: Any, installation_id: str, warnings: Sequence[PolicyWarning]
) -> None:
    """Record a report-only licence's would-be refusals of a validation."""
    session = ctx.session
    begin_write(session)
    try:
        now = utcnow()
        for w in warnings:
            events.add(
                session,
                "enforcement.reported",
                origin,
                license_id=lic.id,
                customer_id=lic.customer_id,
                installation_id=installation_id,
                reason=w.code,
                data={"action": "validate", "why": w.detail},
                at=now,
            )
        session.commit()
    except BaseException:
        session.rollback()
        raise
