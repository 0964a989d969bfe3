"""A store's webhook: verify the signature, record the raw event by its id,
and apply it in the same transaction, once.

- A repeat (the same event id for this integration) changes nothing; two
  servers receiving it at once race on the unique (integration, event id):
  one commits, the other's insert fails and it answers as for a repeat.
- The effect and the record commit together, so a crash in between leaves
  neither: the store sends the event again and it is applied then.
- An event that depends on one not seen yet (a refund before its purchase)
  is recorded ``failed`` and held; after each event that applies, the held
  events of the integration are tried again in the order received.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from licserver.database import begin_write
from licserver.domain.errors import Conflict, ServiceUnavailable
from licserver.domain.stores import (
    Command,
    Malformed,
    fastspring,
    generic,
    paddle,
    signatures,
    stripe,
)
from licserver.faults import fault
from licserver.models import utcnow
from licserver.models.store import StoreEvent, StoreIntegration
from licserver.services import SYSTEM_ORIGIN, Origin, events
from licserver.services.notices import Mailer
from licserver.services.stores import Ctx, integrations, lifecycle, mail

log = logging.getLogger(__name__)
PARSERS = {
    "stripe": stripe.parse,
    "paddle": paddle.parse,
    "fastspring": fastspring.parse,
    "generic": generic.parse,
}
HELD_BATCH = 50


@dataclass
class Received:
    event_id: str
    type: str
    outcome: str
    detail: str
    repeat: bool = False


def _body_of(provider: str, cmd_index: int, body: bytes) -> str:
    """What is stored: the body as received; for a FastSpring post of several
    events, the one event (in a post of its own, so it is parsed again alike)."""
    if provider == "fastspring":
        events = json.loads(body)["events"]
        if len(events) > 1:
            return json.dumps({"events": [events[cmd_index]]})
    return body.decode("utf-8")


def receive(
    ctx: Ctx,
    mailer: Mailer,
    public_id: str,
    headers: Mapping[str, str],
    body: bytes,
    now: float | None = None,
) -> list[Received]:
    session = ctx.session
    integ = integrations.find(session, public_id)
    secret = integrations.secret_of(ctx, integ)
    session.rollback()  # nothing held open while verifying
    signatures.verify(integ.provider, secret, headers, body, time.time() if now is None else now)
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        raise Malformed("The body is not UTF-8 JSON.") from None
    commands = PARSERS[integ.provider](body)
    out = []
    for i, cmd in enumerate(commands):
        out.append(_one(ctx, mailer, integ, cmd, _body_of(integ.provider, i, body)))
    return out


def _one(ctx: Ctx, mailer: Mailer, integ: StoreIntegration, cmd: Command, raw: str) -> Received:
    session = ctx.session
    integ_id = integ.id
    try:
        begin_write(session)
        integ = session.get(StoreIntegration, integ_id) or integ
        if _known(session, integ_id, cmd.event_id):
            session.rollback()
            return Received(
                cmd.event_id, cmd.event_type, "applied", "A repeat: nothing changed.", True
            )
        row = StoreEvent(
            integration_id=integ_id,
            event_id=cmd.event_id,
            type=cmd.event_type,
            body=raw,
            outcome="failed",
            detail="Being applied.",
        )
        session.add(row)
        session.flush()  # the unique (integration, event id) decides a race here
        result = _apply(ctx, integ, cmd)
        _store(row, result)
        fault("store_before_commit")  # test-only (licserver.faults)
        session.commit()
    except IntegrityError:
        session.rollback()
        return Received(cmd.event_id, cmd.event_type, "applied", "A repeat: nothing changed.", True)
    except Exception:
        session.rollback()
        log.exception("store event %s of %s could not be recorded", cmd.event_id, integ.public_id)
        raise ServiceUnavailable(
            "The event could not be recorded; the store will send it again."
        ) from None
    _after(ctx, mailer, integ, result)
    return Received(cmd.event_id, cmd.event_type, row.outcome, row.detail or "")


def _known(session: Session, integ_id: int, event_id: str) -> bool:
    q = select(StoreEvent.id).where(
        StoreEvent.integration_id == integ_id, StoreEvent.event_id == event_id
    )
    return session.scalars(q).first() is not None


def _apply(ctx: Ctx, integ: StoreIntegration, cmd: Command) -> lifecycle.Result:
    """The command's effect inside a savepoint: a refusal (a revoked licence
    cannot be reinstated...) is recorded as ``failed`` and the event kept."""
    session = ctx.session
    try:
        with session.begin_nested():
            return lifecycle.apply(ctx, integ, cmd)
    except Conflict as exc:
        return lifecycle.Result("failed", exc.detail)


def _store(row: StoreEvent, result: lifecycle.Result) -> None:
    row.outcome, row.detail, row.held = result.outcome, result.detail[:1000], result.held
    row.licenses = result.licenses
    row.applied_at = utcnow() if result.outcome == "applied" else None


def _after(ctx: Ctx, mailer: Mailer, integ: StoreIntegration, result: lifecycle.Result) -> None:
    """After the commit: the buyer's email, staff's notice, held events."""
    mail.send_issued(mailer, result.issued)
    if result.staff_notice:
        mail.tell_staff(ctx.session, mailer, integ, result.staff_notice)
    if result.outcome == "applied":
        retry_held(ctx, mailer, integ.id)


def retry_held(ctx: Ctx, mailer: Mailer, integ_id: int) -> None:
    session = ctx.session
    ids = list(
        session.scalars(
            select(StoreEvent.id)
            .where(StoreEvent.integration_id == integ_id, StoreEvent.held.is_(True))
            .order_by(StoreEvent.id)
            .limit(HELD_BATCH)
        )
    )
    session.rollback()
    for ev_id in ids:
        reapply(ctx, mailer, ev_id, cascade=False)


def reapply_by_id(
    ctx: Ctx, mailer: Mailer, public_id: str, event_id: str, origin: Origin = SYSTEM_ORIGIN
) -> StoreEvent:
    """Staff's "re-apply" of an ``ignored`` or ``failed`` event (after mapping
    its item, say). An applied event is never applied twice: ``Conflict``."""
    session = ctx.session
    integ = integrations.find(session, public_id)
    row = integrations.get_event(session, integ, event_id)
    if row.outcome == "applied":
        session.rollback()
        raise Conflict(f"Event '{event_id}' is applied already.")
    ev_id = row.id
    session.rollback()
    return reapply(ctx, mailer, ev_id, origin=origin)


def reapply(
    ctx: Ctx,
    mailer: Mailer,
    store_event_id: int,
    cascade: bool = True,
    origin: Origin | None = None,
) -> StoreEvent:
    """Apply a recorded event again (staff's "re-apply" of an ignored or failed
    one, or a held one after the event it waited for). An applied one is left."""
    session = ctx.session
    begin_write(session)
    try:
        q = (
            select(StoreEvent)
            .where(StoreEvent.id == store_event_id)
            .execution_options(populate_existing=True)
        )
        if session.get_bind().dialect.name == "postgresql":
            q = q.with_for_update()
        row = session.scalars(q).one()
        if row.outcome == "applied":
            session.rollback()
            return row
        integ = session.get(StoreIntegration, row.integration_id)
        assert integ is not None
        cmd = next(
            c for c in PARSERS[integ.provider](row.body.encode()) if c.event_id == row.event_id
        )
        result = _apply(ctx, integ, cmd)
        if result.held and row.held:
            session.rollback()  # still waiting: leave it as it was
            return row
        _store(row, result)
        if origin is not None:  # staff's re-apply (not a held event's retry)
            events.record(
                session,
                "integration.event_reapplied",
                origin,
                data={"integration": integ.public_id, "event": row.event_id, "to": row.outcome},
            )
        session.commit()
    except BaseException:
        session.rollback()
        raise
    mail.send_issued(mailer, result.issued)
    if result.staff_notice and cascade:
        mail.tell_staff(ctx.session, mailer, integ, result.staff_notice)
    if cascade and result.outcome == "applied":
        retry_held(ctx, mailer, integ.id)
    return row
