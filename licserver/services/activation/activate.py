"""Activation: an installation takes a seat on the licence its credentials name
(or, for a company password, the one the seat rule chooses).

PostgreSQL takes the common case in one statement (``fast_path``). The full
path, on both databases, is one write transaction holding the licence: the rows
are read under the lock (``snapshots``), ``licserver.domain`` decides, the writes
and the history event follow (a refusal writes its event instead); the
certificate is signed after the commit (``certificates``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy.exc import IntegrityError

from licserver import signing
from licserver.crypto import random_token, token_hash
from licserver.database import begin_write, is_postgres
from licserver.domain import policy as rules
from licserver.domain import seats as seat_rules
from licserver.domain.errors import LicenseServerError, SeatLimitReached, TrialAlreadyUsed
from licserver.domain.ids import new_activation_id
from licserver.domain.status import usability_error
from licserver.faults import fault
from licserver.models import utcnow
from licserver.services import Origin, leases, legacy_keys
from licserver.services.activation import fast_path
from licserver.services.activation.certificates import Terms, issue_certificate
from licserver.services.activation.entitlements import features
from licserver.services.activation.recording import (
    History,
    Refusal,
    iso,
    record_refusal,
    warning,
)
from licserver.services.activation.results import (
    NO_REQUEST,
    ActivationResult,
    PolicyWarning,
    Request,
)
from licserver.services.activation.snapshots import (
    ACTIVATIONS,
    HOLDERS,
    INSERT_ACTIVATION,
    INSERT_TRIAL,
    LICENSES,
    TAKE_SEAT,
    TRIAL_OF,
    View,
    candidates,
    degenerate,
    load,
    views,
)
from licserver.services.context import Context
from licserver.services.credentials import (
    COMPANY_PASSWORD,
    LICENSE_KEY,
    Attempt,
    Credentials,
    authenticate_company,
    verify_key,
)


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
    creds = legacy_keys.resolve(ctx, creds)
    claims, company_ids = None, None
    signer = ctx.keyring.signer(session)  # cached per process
    if creds.kind == LICENSE_KEY:
        # Verified before any lock is taken: a forged key costs no one a turn.
        claims = verify_key(ctx, creds.license_key)
        fast = not request.fingerprints and not rules.degenerate_id(installation_id)
        if fast and is_postgres(session):
            done = fast_path.activate(ctx, attempt, claims, client, signer, event_data, request)
            if done is not None:
                return done
    elif creds.kind == COMPANY_PASSWORD:
        company_ids = authenticate_company(attempt, creds)
    ask = _Ask(attempt, creds, claims, company_ids, client, signer, event_data, request)
    try:
        return _activate(ask)
    except IntegrityError:
        # PostgreSQL: a request of this same installation inserted its activation
        # (or, on a trial, its trial) after our read (a unique index stopped ours).
        # Once more: it is found.
        session.rollback()
        return _activate(ask)


@dataclass(frozen=True)
class _Ask:
    """One activation request: who asks, with what, for which installation."""

    attempt: Attempt
    creds: Credentials
    claims: signing.LicenseKeyClaims | None  # a licence key's, verified
    company_ids: list[int] | None  # a company password's licences
    client: dict[str, Any] | None
    signer: tuple[str, Ed25519PrivateKey]
    event_data: dict[str, Any] | None
    request: Request

    @property
    def ctx(self) -> Context:
        return self.attempt.ctx

    @property
    def installation_id(self) -> str:
        assert self.attempt.installation_id is not None
        return self.attempt.installation_id

    @property
    def machine_name(self) -> str:
        assert self.attempt.machine_name is not None
        return self.attempt.machine_name

    def load(self) -> Sequence[Any]:
        """The licence rows, read (again) under their lock."""
        return load(
            self.ctx,
            self.attempt,
            self.creds,
            self.claims,
            self.company_ids,
            self.installation_id,
            lock=True,
        )


@dataclass
class _Outcome:
    """What one way of activating wrote: for the history event and the answer."""

    activation_id: str
    activated_at: datetime
    created: bool
    kind: str  # the history event
    data: dict[str, Any]
    expires_at: datetime | None  # the licence's, after this activation
    moved_from: str | None = None


@dataclass
class _Written:
    lic: Any
    outcome: _Outcome
    terms: Terms
    warnings: list[PolicyWarning] = field(default_factory=list)


def _activate(ask: _Ask) -> ActivationResult:
    """The full path: one write transaction holding the licence; a refusal
    writes its event instead. The certificate is signed after the commit."""
    session = ask.ctx.session
    begin_write(session)
    try:
        now, token = utcnow(), random_token()
        written = _write_on_current_rows(ask, now, token)
        fault("before_commit")  # test-only
        session.commit()
        fault("after_commit")  # test-only
    except Refusal as refusal:
        record_refusal(ask.attempt, refusal)
        raise refusal.error from None
    except BaseException:
        session.rollback()
        raise
    lic, done, terms = written.lic, written.outcome, written.terms
    cert = issue_certificate(
        ask.signer, lic, done.activation_id, ask.installation_id, ask.machine_name, now, terms
    )
    return ActivationResult(
        activation_id=done.activation_id,
        license_id=lic.public_id,
        installation_id=ask.installation_id,
        machine_name=ask.machine_name,
        activated_at=done.activated_at,
        certificate=cert,
        activation_token=token,
        created=done.created,
        model=terms.settings.model,
        lease_expires_at=terms.lease_expires_at,
        features=features(terms.settings, lic.features),
        warnings=written.warnings,
        moved_from=done.moved_from,
    )


def _write_on_current_rows(ask: _Ask, now: datetime, token: str) -> _Written:
    """Decide and write on the rows read under the lock when they allow it at once;
    else read them again and decide (and refuse, or free seats) on those.

    PostgreSQL, READ COMMITTED: after waiting for the lock, the licence rows are
    their latest versions but the joined activations are as of the statement's
    start. Read again, under the lock we now hold: current. (Also every refusal
    and every full licence: decided on current rows.)"""
    try:
        view, full = _choose_on(ask, ask.load(), now)
    except Refusal:
        view, full = None, True
    if view is not None and not full:
        written = _Write(ask, view, now, token).run(full=False)
        if written is not None:
            return written
    view, full = _choose_on(ask, ask.load(), now)
    written = _Write(ask, view, now, token).run(full=full)
    if written is None:  # deactivations take the licence lock first: cannot happen
        raise RuntimeError("live activation changed under the licence lock")
    return written


def _choose_on(ask: _Ask, rows: Sequence[Any], now: datetime) -> tuple[View, bool]:
    """The licence to activate on (API.md's rule) and whether it is full, or the
    refusal (a degenerate installation ID; no usable licence)."""
    refused = degenerate(rows, ask.installation_id)
    if refused is not None:
        raise Refusal(refused, rows[0])
    vs = views(rows, now, ask.request.release_date)
    cands = candidates(vs, now)
    by_id = {v.row.id: v for v in vs}
    chosen = seat_rules.choose_license(cands)
    if chosen is not None:
        return by_id[chosen.key], False
    usable = [c for c in cands if c.status == "active"]
    if not usable:
        worst = seat_rules.refusal_for_unusable(cands)
        err = usability_error(worst.status)
        assert err is not None
        raise Refusal(err, by_id[worst.key].row)
    # every usable licence is full: the first one answers (its seat limit)
    return by_id[usable[0].key], True


class _Write:
    """One activation's writes on the chosen licence, under its lock: this
    installation's live activation re-used, one moved to it (fingerprint
    continuity), or a new one; then its events."""

    def __init__(self, ask: _Ask, view: View, now: datetime, token: str) -> None:
        self.ask, self.now = ask, now
        self.lic, self.s = view.row, view.settings
        self.session = ask.ctx.session
        self.conn = self.session.connection()
        self.origin = ask.attempt.origin
        self.history = History(self.session, self.origin, self.lic)
        self.token_hash = token_hash(token)
        self.lease = rules.lease_until(self.s, now)
        self.deadline = rules.heartbeat_deadline(self.s, now)
        self.warnings: list[PolicyWarning] = []
        condition = view.condition_error
        if condition is not None:  # a report-only licence (else _choose_on refused)
            self.warnings.append(warning(condition))

    def run(self, *, full: bool) -> _Written | None:
        """Write the activation (``full``: the licence has no free seat as read);
        None when this installation's live activation is no longer live (the
        rows were stale)."""
        if self.lic.live_id is not None:
            outcome = self._reuse()
            if outcome is None:
                return None
        else:
            outcome = self._move_or_create(full)
        return self._record(outcome)

    def _reuse(self) -> _Outcome | None:
        """Already active here: no second seat, a fresh token (the old stops
        working); a floating lease is renewed (even one run out but not yet released)."""
        lic, ask = self.lic, self.ask
        changes: dict[str, Any] = {}
        values: dict[str, Any] = {"token_hash": self.token_hash, "ip": self.origin.ip}
        if lic.live_machine_name != ask.machine_name:
            changes["machine_name"] = {"from": lic.live_machine_name, "to": ask.machine_name}
            values["machine_name"] = ask.machine_name
        if ask.client is not None:
            values["client"] = ask.client
        if not self.s.plain or lic.live_inactive_since is not None:
            values.update(
                lease_expires_at=self.lease, heartbeat_deadline=self.deadline, inactive_since=None
            )
        if ask.request.fingerprints:
            values["fingerprints"] = ask.request.fingerprints
        done = self.conn.execute(
            ACTIVATIONS.update()
            .where(ACTIVATIONS.c.id == lic.live_id, ACTIVATIONS.c.deactivated_at.is_(None))
            .values(**values)
        )
        if done.rowcount != 1:
            return None
        return _Outcome(
            lic.live_public_id,
            lic.live_activated_at,
            False,
            "activation.reused",
            changes,
            lic.expires_at,
        )

    def _move_or_create(self, full: bool) -> _Outcome:
        trial = self._trial_taken() if self.s.trial else None
        if trial:
            err = TrialAlreadyUsed(
                "This machine has already had its trial of this product; "
                "ask your vendor for a licence."
            )
            self._refuse(err)
        move = self._continuity()
        if move is not None:
            return self._move(*move)
        if full:
            self._make_room()
        return self._create(first_trial=self.s.trial and trial is None)

    def _refuse(self, err: LicenseServerError) -> None:
        """Refuse with ``err``; a report-only licence only records it as a warning."""
        if not self.s.report_only:
            raise Refusal(err, self.lic, head_known=not self.history.written)
        self.warnings.append(warning(err))

    def _trial_taken(self) -> bool | None:
        """A trial licence: has this installation had its trial of the product on
        another licence (True), on this one (False), or not at all (None)?"""
        other = self.conn.execute(
            TRIAL_OF, {"pid": self.lic.product_id, "iid": self.ask.installation_id}
        ).scalar()
        if other is None:
            return None
        return bool(other != self.lic.id)

    def _continuity(self) -> tuple[Any, list[str]] | None:
        """The live activation this new installation ID takes the place of
        (fingerprint continuity), with the names that matched; None when none does."""
        offered = self.ask.request.fingerprints
        if not offered or self.s.fingerprint_matches <= 0:
            return None
        holders = [
            rules.Holder(
                key=r, installation_id=r.installation_id, fingerprints=r.fingerprints or {}
            )
            for r in self.conn.execute(HOLDERS, {"lid": self.lic.id})
            if isinstance(r.fingerprints, dict)
        ]
        found = rules.continuity_match(self.s, offered, holders)
        if found is None:
            return None
        holder, matched = found
        return holder.key, matched

    def _move(self, holder: Any, matched: list[str]) -> _Outcome:
        """Fingerprint continuity: the same machine under a new installation ID
        (a BIOS update, an OS reinstall) keeps its activation and its seat."""
        ask = self.ask
        self.conn.execute(
            ACTIVATIONS.update()
            .where(ACTIVATIONS.c.id == holder.id, ACTIVATIONS.c.deactivated_at.is_(None))
            .values(
                installation_id=ask.installation_id,
                machine_name=ask.machine_name,
                token_hash=self.token_hash,
                ip=self.origin.ip,
                fingerprints=ask.request.fingerprints,
                site_url=ask.request.site_url,
                lease_expires_at=self.lease,
                heartbeat_deadline=self.deadline,
                inactive_since=None,
                **({"client": ask.client} if ask.client is not None else {}),
            )
        )
        data = {"from": holder.installation_id, "to": ask.installation_id, "matched": matched}
        return _Outcome(
            holder.public_id,
            holder.activated_at,
            False,
            "activation.moved",
            data,
            self.lic.expires_at,
            moved_from=holder.installation_id,
        )

    def _make_room(self) -> None:
        """A full licence: free what the rules say is no longer held (floating
        leases run out; silent machines, with free_seat_when_inactive), then
        decide again: the seat limit refuses (report-only: warns)."""
        lic, s = self.lic, self.s
        freed = 0
        if s.floating or (s.heartbeat_required and s.free_seat_when_inactive):
            settled = leases.settle(
                self.session,
                lic.id,
                lic.customer_id,
                s,
                self.now,
                head=self.history.head,
                actions=leases.FREEING,
            )
            freed = settled.seats_freed
            if freed:
                self.history.moved()
        if lic.seats_used - freed >= lic.seats:
            self._refuse(SeatLimitReached(f"All {lic.seats} seat(s) of this licence are in use."))

    def _create(self, *, first_trial: bool) -> _Outcome:
        """A new activation taking a seat (and, on a trial, the machine's trial)."""
        lic, ask, now = self.lic, self.ask, self.now
        activation_id = new_activation_id()
        self.conn.execute(
            INSERT_ACTIVATION,
            {
                "public_id": activation_id,
                "license_id": lic.id,
                "installation_id": ask.installation_id,
                "machine_name": ask.machine_name,
                "client": ask.client,
                "token_hash": self.token_hash,
                "ip": self.origin.ip,
                "activated_at": now,
                "lease_expires_at": self.lease,
                "heartbeat_deadline": self.deadline,
                "site_url": ask.request.site_url,
                "fingerprints": ask.request.fingerprints,
            },
        )
        # the row is ours until commit (locked / BEGIN IMMEDIATE)
        self.conn.execute(TAKE_SEAT, {"b_id": lic.id, "b_now": now})
        if first_trial:
            # the unique index settles two first trials of one machine at once
            self.conn.execute(
                INSERT_TRIAL,
                {
                    "product_id": lic.product_id,
                    "installation_id": ask.installation_id,
                    "license_id": lic.id,
                    "at": now,
                },
            )
        data: dict[str, Any] = {"client": ask.client} if ask.client else {}
        expires_at = self._start_expiry()
        if expires_at != lic.expires_at:
            assert expires_at is not None
            data["expiry_started"] = iso(expires_at)
        return _Outcome(activation_id, now, True, "activation.created", data, expires_at)

    def _start_expiry(self) -> datetime | None:
        """The licence's expiry after its first activation (a policy's
        expiry_from_first_activation starts the clock now)."""
        lic, now = self.lic, self.now
        current: datetime | None = lic.expires_at
        new_expiry = rules.expiry_at_first_activation(self.s, now, current, lic.first_activated_at)
        if new_expiry == current or new_expiry is None:
            return current
        self.conn.execute(
            LICENSES.update()
            .where(LICENSES.c.id == lic.id)
            .values(expires_at=new_expiry, first_activated_at=now, updated_at=now)
        )
        return new_expiry

    def _record(self, outcome: _Outcome) -> _Written:
        """The activation's events, and the certificate's terms."""
        ask = self.ask
        data = outcome.data
        if ask.event_data:
            data = {**data, **ask.event_data}
        who = {
            "activation_id": outcome.activation_id,
            "installation_id": ask.installation_id,
            "machine_name": ask.machine_name,
        }
        self.history.add(outcome.kind, data=data, at=self.now, **who)
        self.history.report("activate", self.warnings, self.now, **who)
        terms = Terms(
            self.s,
            outcome.expires_at,
            self.lease,
            tuple(w.code for w in self.warnings),
            ask.request.site_url,
        )
        return _Written(self.lic, outcome, terms, self.warnings)
