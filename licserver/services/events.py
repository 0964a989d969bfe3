"""Writing and reading the history."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from licserver.domain.history import Head
from licserver.models import Activation, Event, License, utcnow
from licserver.services import Origin, history

CREDENTIAL_FAILURE = "INVALID_CREDENTIALS"
# Refusals that spend the failed-attempt budget (a wrong check-in token does not:
# activation tokens are random, 256-bit, and not guessable).
BUDGET_KINDS = ("activation.refused", "validation.refused")


def record(
    session: Session,
    kind: str,
    origin: Origin,
    *,
    license: License | None = None,
    customer_id: int | None = None,
    activation: Activation | None = None,
    installation_id: str | None = None,
    machine_name: str | None = None,
    reason: str | None = None,
    data: dict[str, Any] | None = None,
) -> Event:
    """Add an event to the session (the caller commits with its own change).
    With a licence it is chained into the licence's history when flushed
    (``services.history``), under the licence's lock."""
    if activation is not None:
        installation_id = installation_id or activation.installation_id
        machine_name = machine_name or activation.machine_name
    event = Event(
        kind=kind,
        license_id=license.id if license is not None else None,
        customer_id=customer_id
        if customer_id is not None
        else (license.customer_id if license is not None else None),
        activation_id=activation.public_id if activation is not None else None,
        actor_type=origin.actor.type,
        actor_id=origin.actor.id,
        installation_id=installation_id,
        machine_name=machine_name,
        ip=origin.ip,
        reason=reason,
        data=data or {},
        at=utcnow(),
    )
    session.add(event)
    return event


_INSERT = insert(Event.__table__)  # type: ignore[arg-type]


def add(
    session: Session,
    kind: str,
    origin: Origin,
    *,
    license_id: int | None,
    customer_id: int | None,
    activation_id: str | None = None,
    installation_id: str | None = None,
    machine_name: str | None = None,
    reason: str | None = None,
    data: dict[str, Any] | None = None,
    at: datetime | None = None,
    head: Head | None = None,
) -> None:
    """Write an event at once, in the session's transaction (the caller commits).

    The hot paths' way: one INSERT, no ORM object (PostgreSQL: one statement
    that also chains it into the licence's history, ``services.history``).
    ``activation_id`` is the activation's public id. ``head``: the licence's
    history head as this transaction read it under its lock, if it did (SQLite
    then need not read it again)."""
    values = {
        "kind": kind,
        "license_id": license_id,
        "customer_id": customer_id,
        "activation_id": activation_id,
        "actor_type": origin.actor.type,
        "actor_id": origin.actor.id,
        "installation_id": installation_id,
        "machine_name": machine_name,
        "ip": origin.ip,
        "reason": reason,
        "data": data or {},
        "at": at or utcnow(),
    }
    if license_id is None:
        session.connection().execute(_INSERT, values)
    else:
        history.insert_chained(session, values, head)


def recent_failures(
    session: Session,
    *,
    license_id: int | None = None,
    customer_id: int | None = None,
    window_seconds: int,
) -> tuple[int, Any]:
    """(count, oldest time) of credential failures inside the window, for the
    failed-attempt budget: per licence, or per customer for the company password."""
    since = utcnow() - timedelta(seconds=window_seconds)
    q = select(func.count(Event.id), func.min(Event.at)).where(
        Event.reason == CREDENTIAL_FAILURE, Event.at > since, Event.kind.in_(BUDGET_KINDS)
    )
    if license_id is not None:
        q = q.where(Event.license_id == license_id)
    else:
        q = q.where(Event.customer_id == customer_id, Event.license_id.is_(None))
    count, oldest = session.execute(q).one()
    return int(count), oldest
