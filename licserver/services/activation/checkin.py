"""Check-in: a fresh certificate for a live activation (floating: a renewed lease).

PostgreSQL answers the common case with one statement (``fast_path``); the full
path reads the activation with its licence, decides with ``licserver.domain``
and writes in one write transaction; a refusal writes its event instead.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy.engine import Connection

from licserver.crypto import tokens_equal
from licserver.database import begin_write, is_postgres
from licserver.domain import policy as rules
from licserver.domain.errors import Deactivated
from licserver.models import utcnow
from licserver.services import Origin
from licserver.services.activation import fast_path
from licserver.services.activation.certificates import Terms, issue_certificate
from licserver.services.activation.recording import (
    History,
    Refusal,
    iso,
    record_refusal,
    warning,
)
from licserver.services.activation.results import CheckinResult, PolicyWarning
from licserver.services.activation.snapshots import ACTIVATIONS, CHECKIN, views
from licserver.services.context import Context
from licserver.services.credentials import Attempt, invalid


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
        done = fast_path.check_in(ctx, activation_id, activation_token, origin, signer)
        if done is not None:
            return done
    begin_write(session)
    attempt: Attempt | None = None
    try:
        conn = session.connection()
        row = conn.execute(CHECKIN, {"aid": activation_id}).first()
        if row is None:
            raise invalid()
        attempt = Attempt(
            ctx, origin, "activation.checkin_refused", row.installation_id, row.machine_name
        )
        if not tokens_equal(row.token_hash, activation_token):
            raise Refusal(invalid(), row)
        if row.deactivated_at is not None:
            raise Refusal(Deactivated("This activation was deactivated."), row)
        now = utcnow()
        terms, warnings = _renew(conn, row, now, release_date)
        _record(History(session, origin, row), row, warnings, now)
        session.commit()
    except Refusal as refusal:
        assert attempt is not None
        record_refusal(attempt, refusal, activation_id=refusal.lic.activation_id)
        raise refusal.error from None
    except BaseException:
        session.rollback()
        raise
    cert = issue_certificate(
        signer, row, row.activation_id, row.installation_id, row.machine_name, now, terms
    )
    return CheckinResult(cert, terms.lease_expires_at, warnings)


def _renew(
    conn: Connection, row: Any, now: datetime, release_date: date | None
) -> tuple[Terms, list[PolicyWarning]]:
    """Decide on the licence's condition and mark the check-in (a lease renewed, a
    silent machine active again): the certificate's terms and the warnings."""
    (view,) = views([row], now, release_date)
    s = view.settings
    warnings: list[PolicyWarning] = []
    err = view.condition_error
    if err is not None:
        if not s.report_only:
            raise Refusal(err, row)
        warnings.append(warning(err))
    lease = rules.lease_until(s, now)
    values: dict[str, Any] = {"last_checkin_at": now}
    if not s.plain or row.inactive_since is not None:
        values.update(
            lease_expires_at=lease,
            heartbeat_deadline=rules.heartbeat_deadline(s, now),
            inactive_since=None,
        )
    done = conn.execute(
        ACTIVATIONS.update()
        .where(ACTIVATIONS.c.id == row.activation_row_id, ACTIVATIONS.c.deactivated_at.is_(None))
        .values(**values)
    )
    if done.rowcount != 1:
        raise Refusal(Deactivated("This activation was deactivated."), row)
    terms = Terms(s, row.expires_at, lease, tuple(w.code for w in warnings), row.site_url)
    return terms, warnings


def _record(history: History, row: Any, warnings: list[PolicyWarning], now: datetime) -> None:
    """The check-in's events: checked in, active again after silence, warnings."""
    who = {
        "activation_id": row.activation_id,
        "installation_id": row.installation_id,
        "machine_name": row.machine_name,
    }
    history.add("activation.checked_in", at=now, **who)
    if row.inactive_since is not None:
        history.add(
            "activation.active_again",
            data={"inactive_since": iso(row.inactive_since)},
            at=now,
            **who,
        )
    history.report("checkin", warnings, now, **who)
