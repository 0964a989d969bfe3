"""Floating leases and heartbeats over time: release what ran out, mark or free
what went silent (licserver.domain.policy decides; this writes, under each
licence's lock, with its events). Used by ``licserver sweep`` and, for one
licence that needs a seat, by the activation path.

``settle`` is the one writer: it applies ``policy.overdue`` to a licence's live
activations while the caller holds the licence (PostgreSQL: its row locked;
SQLite: BEGIN IMMEDIATE). ``sweep`` finds the licences with something overdue
through the two partial indexes of ``activations``, then settles each under its
own lock in its own short transaction; on PostgreSQL it skips a licence another
sweeper (or an activation) holds at that moment, so two sweepers never queue on
each other and a licence is settled once. Both re-check under the lock, so a
check-in that renewed a lease since the first read wins.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Connection, Table, and_, bindparam, select, update
from sqlalchemy.orm import Session

from licserver.database import begin_write, is_postgres
from licserver.domain import policy as rules
from licserver.domain.history import Head
from licserver.models import Activation, License, utcnow
from licserver.models.policy import Policy
from licserver.services import SYSTEM, Origin, events
from licserver.services.context import Context

_L = cast(Table, License.__table__)
_A = cast(Table, Activation.__table__)
_POL = cast(Table, Policy.__table__)

SYSTEM_ORIGIN = Origin(SYSTEM)
LEASE_REASON = "lease expired"
HEARTBEAT_REASON = "heartbeat missed"
FREEING = frozenset({rules.LEASE_EXPIRED, rules.FREE_SEAT})
EVERYTHING = frozenset({rules.LEASE_EXPIRED, rules.MARK_INACTIVE, rules.FREE_SEAT})


@dataclass
class SweepResult:
    """What a sweep (or one licence's settling) did."""

    released: int = 0  # floating leases that ran out, released
    marked_inactive: int = 0  # silent machines marked inactive
    freed: int = 0  # silent machines deactivated (free_seat_when_inactive)
    skipped: int = 0  # licences another sweeper held (PostgreSQL)

    @property
    def seats_freed(self) -> int:
        return self.released + self.freed

    def add(self, other: SweepResult) -> None:
        self.released += other.released
        self.marked_inactive += other.marked_inactive
        self.freed += other.freed
        self.skipped += other.skipped


_LIVE = select(
    _A.c.id,
    _A.c.public_id,
    _A.c.installation_id,
    _A.c.machine_name,
    _A.c.activated_at,
    _A.c.last_checkin_at,
    _A.c.lease_expires_at,
    _A.c.inactive_since,
).where(_A.c.license_id == bindparam("lid"), _A.c.deactivated_at.is_(None))


def _seen(row: Any) -> rules.Seen:
    return rules.Seen(
        key=row.id,
        last_seen=row.last_checkin_at or row.activated_at,
        lease_expires_at=row.lease_expires_at,
        inactive=row.inactive_since is not None,
    )


def _iso(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def settle(
    session: Session,
    license_id: int,
    customer_id: int,
    settings: rules.Settings,
    now: datetime,
    *,
    head: Head | None = None,
    actions: Collection[str] = EVERYTHING,
    origin: Origin = SYSTEM_ORIGIN,
) -> SweepResult:
    """Apply the rules to the licence's live activations now and write what they
    say (only ``actions``), with their events; the seats freed are taken off
    ``seats_used``. The caller holds the licence's lock and commits. ``head``: the
    licence's history head as the caller read it under the lock (SQLite), if it
    did and has written no event since."""
    conn = session.connection()
    result = SweepResult()
    for row in conn.execute(_LIVE, {"lid": license_id}).all():
        seen = _seen(row)
        what = rules.overdue(settings, seen, now)
        if what is None or what not in actions:
            continue
        kind, reason, data = _apply(conn, row, what, seen, now, origin, result)
        events.add(
            session,
            kind,
            origin,
            license_id=license_id,
            customer_id=customer_id,
            activation_id=row.public_id,
            installation_id=row.installation_id,
            machine_name=row.machine_name,
            reason=reason,
            data=data,
            at=now,
            head=head,
        )
        head = None  # moved on: read it again for the next event
    if result.seats_freed:
        conn.execute(
            update(_L)
            .where(_L.c.id == license_id)
            .values(seats_used=_L.c.seats_used - result.seats_freed, updated_at=now)
        )
    return result


def _apply(
    conn: Connection,
    row: Any,
    what: str,
    seen: rules.Seen,
    now: datetime,
    origin: Origin,
    result: SweepResult,
) -> tuple[str, str | None, dict[str, Any]]:
    """Write what the rule said for one activation (mark it inactive, or end
    it), count it in ``result``; its event's kind, reason and data."""
    live = and_(_A.c.id == row.id, _A.c.deactivated_at.is_(None))
    data: dict[str, Any] = {"last_seen": _iso(seen.last_seen)}
    if what == rules.MARK_INACTIVE:
        conn.execute(update(_A).where(live).values(inactive_since=now))
        result.marked_inactive += 1
        return "activation.inactive", None, data
    floating = what == rules.LEASE_EXPIRED
    reason = LEASE_REASON if floating else HEARTBEAT_REASON
    conn.execute(
        update(_A)
        .where(live)
        .values(
            deactivated_at=now,
            deactivated_by_type=origin.actor.type,
            deactivated_by_id=origin.actor.id,
            deactivation_reason=reason,
        )
    )
    if not floating:
        result.freed += 1
        return "activation.deactivated", reason, data
    if row.lease_expires_at is not None:
        data["lease_expires_at"] = _iso(row.lease_expires_at)
    result.released += 1
    return "activation.lease_expired", reason, data


# The licences with a live activation whose lease ran out or whose heartbeat
# deadline passed (each through its partial index), with their settings.
_DUE_COLUMNS = (
    _A.c.license_id,
    _A.c.activated_at,
    _A.c.last_checkin_at,
    _A.c.lease_expires_at,
    _A.c.inactive_since,
    _L.c.policy_overrides,
    _POL.c.settings.label("policy_settings"),
)
_DUE_FROM = _A.join(_L, _L.c.id == _A.c.license_id).outerjoin(_POL, _POL.c.id == _L.c.policy_id)
_DUE_LEASES = (
    select(*_DUE_COLUMNS)
    .select_from(_DUE_FROM)
    .where(
        _A.c.deactivated_at.is_(None),
        _A.c.lease_expires_at.is_not(None),
        _A.c.lease_expires_at <= bindparam("now"),
    )
)
_DUE_HEARTBEATS = (
    select(*_DUE_COLUMNS)
    .select_from(_DUE_FROM)
    .where(
        _A.c.deactivated_at.is_(None),
        _A.c.heartbeat_deadline.is_not(None),
        _A.c.heartbeat_deadline <= bindparam("now"),
    )
)
_LOCK = (
    select(
        _L.c.id,
        _L.c.customer_id,
        _L.c.history_seq,
        _L.c.history_head,
        _L.c.policy_overrides,
        _POL.c.settings.label("policy_settings"),
    )
    .select_from(_L.outerjoin(_POL, _POL.c.id == _L.c.policy_id))
    .where(_L.c.id == bindparam("lid"))
)
_LOCK_PG = _LOCK.with_for_update(of=_L, skip_locked=True)


def due_licences(ctx: Context, now: datetime) -> list[int]:
    """The ids of the licences the rules have something to do on now (read
    without locks: ``settle`` checks again under each licence's lock)."""
    session = ctx.session
    due: set[int] = set()
    try:
        conn = session.connection()
        for q in (_DUE_LEASES, _DUE_HEARTBEATS):
            for row in conn.execute(q, {"now": now}):
                if row.license_id in due:
                    continue
                s = rules.resolve(row.policy_settings, row.policy_overrides)
                if rules.overdue(s, _seen_due(row), now) is not None:
                    due.add(row.license_id)
    finally:
        session.rollback()  # a read: end it
    return sorted(due)


def _seen_due(row: Any) -> rules.Seen:
    return rules.Seen(
        key=None,
        last_seen=row.last_checkin_at or row.activated_at,
        lease_expires_at=row.lease_expires_at,
        inactive=row.inactive_since is not None,
    )


@dataclass(frozen=True)
class Due:
    """A live activation a sweep would act on now (``sweep --dry-run``)."""

    license_id: str
    activation_id: str
    installation_id: str
    machine_name: str
    last_seen_at: datetime
    effect: str  # rules.LEASE_EXPIRED | MARK_INACTIVE | FREE_SEAT


def preview(ctx: Context, now: datetime | None = None) -> list[Due]:
    """What ``sweep`` would do now, machine by machine; nothing is written and
    no lock is taken (a check-in before the real sweep may still change it)."""
    now = now or utcnow()
    session = ctx.session
    out: list[Due] = []
    due = due_licences(ctx, now)  # ends its own read
    try:
        conn = session.connection()
        for license_id in due:
            row = conn.execute(_LOCK, {"lid": license_id}).first()
            if row is None:
                continue
            s = rules.resolve(row.policy_settings, row.policy_overrides)
            public = session.scalar(select(License.public_id).where(License.id == license_id))
            for act in conn.execute(_LIVE, {"lid": license_id}).all():
                seen = _seen(act)
                what = rules.overdue(s, seen, now)
                if what is not None:
                    out.append(
                        Due(
                            str(public),
                            act.public_id,
                            act.installation_id,
                            act.machine_name,
                            seen.last_seen,
                            what,
                        )
                    )
    finally:
        session.rollback()  # a read: end it
    return out


def sweep(ctx: Context, now: datetime | None = None) -> SweepResult:
    """Release the floating leases that ran out, mark inactive (or free the
    seats of) node-locked machines past their heartbeat deadline; every licence
    in its own short transaction under its lock. Safe to run in several
    processes at once."""
    now = now or utcnow()
    session = ctx.session
    total = SweepResult()
    for license_id in due_licences(ctx, now):
        begin_write(session)
        try:
            conn = session.connection()
            pg = is_postgres(session)
            row = conn.execute(_LOCK_PG if pg else _LOCK, {"lid": license_id}).first()
            if row is None:  # held by another sweeper or an activation (or deleted)
                total.skipped += 1
                session.rollback()
                continue
            s = rules.resolve(row.policy_settings, row.policy_overrides)
            head = None if pg else Head(row.history_seq, row.history_head)
            total.add(settle(session, row.id, row.customer_id, s, now, head=head))
            session.commit()
        except BaseException:
            session.rollback()
            raise
    return total
