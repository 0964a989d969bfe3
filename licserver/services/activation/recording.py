"""What the client API's use cases write into a licence's history: the events of
one transaction, report-only warnings, and refusals (recorded, then raised)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from licserver.domain import history as chain
from licserver.domain.errors import LicenseServerError
from licserver.services import Origin, events
from licserver.services.activation.results import PolicyWarning
from licserver.services.credentials import Attempt


def head(row: Any) -> chain.Head:
    """The licence's history head as ``row`` (read under its lock) has it."""
    return chain.Head(row.history_seq, row.history_head)


def iso(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def warning(err: LicenseServerError) -> PolicyWarning:
    return PolicyWarning(err.code, err.detail)


class History:
    """The events one transaction adds to one licence's history: the head read
    under the lock serves the first; later ones read it again (SQLite)."""

    def __init__(self, session: Session, origin: Origin, lic: Any) -> None:
        self.session, self.origin, self.lic = session, origin, lic
        self.head: chain.Head | None = head(lic)
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


class Refusal(Exception):
    """A refusal to record in the licence's history, then answer with ``error``.
    ``head_known``: nothing was written to the licence's history in this
    transaction since ``lic`` was read (its head is still current)."""

    def __init__(self, error: LicenseServerError, lic: Any, *, head_known: bool = True) -> None:
        self.error, self.lic, self.head_known = error, lic, head_known


def record_refusal(attempt: Attempt, refusal: Refusal, activation_id: str | None = None) -> None:
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
            head=head(refusal.lic) if refusal.head_known else None,
        )
        session.commit()
    except BaseException:
        session.rollback()
        raise
