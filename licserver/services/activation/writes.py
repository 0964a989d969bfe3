"""The full path's writes on the licence chosen for an activation, under its
lock (``activate``): this installation's live activation re-used, one moved
to it (fingerprint continuity), or a new one, seats freed where the policy
says; then the history events."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from licserver import signing
from licserver.crypto import token_hash
from licserver.domain import policy as rules
from licserver.domain.errors import LicenseServerError, SeatLimitReached, TrialAlreadyUsed
from licserver.domain.ids import new_activation_id
from licserver.services import leases
from licserver.services.activation.certificates import Terms
from licserver.services.activation.recording import (
    History,
    Refusal,
    iso,
    warning,
)
from licserver.services.activation.results import (
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
    load,
)
from licserver.services.context import Context
from licserver.services.credentials import (
    Attempt,
    Credentials,
)


@dataclass(frozen=True)
class Ask:
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
class Outcome:
    """What one way of activating wrote: for the history event and the answer."""

    activation_id: str
    activated_at: datetime
    created: bool
    kind: str  # the history event
    data: dict[str, Any]
    expires_at: datetime | None  # the licence's, after this activation
    moved_from: str | None = None


@dataclass
class Written:
    lic: Any
    outcome: Outcome
    terms: Terms
    warnings: list[PolicyWarning] = field(default_factory=list)


class Write:
    """One activation's writes on the chosen licence, under its lock: this
    installation's live activation re-used, one moved to it (fingerprint
    continuity), or a new one; then its events."""

    def __init__(self, ask: Ask, view: View, now: datetime, token: str) -> None:
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

    def run(self, *, full: bool) -> Written | None:
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

    def _reuse(self) -> Outcome | None:
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
        return Outcome(
            lic.live_public_id,
            lic.live_activated_at,
            False,
            "activation.reused",
            changes,
            lic.expires_at,
        )

    def _move_or_create(self, full: bool) -> Outcome:
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

    def _move(self, holder: Any, matched: list[str]) -> Outcome:
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
        return Outcome(
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

    def _create(self, *, first_trial: bool) -> Outcome:
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
        return Outcome(activation_id, now, True, "activation.created", data, expires_at)

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

    def _record(self, outcome: Outcome) -> Written:
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
        return Written(self.lic, outcome, terms, self.warnings)
