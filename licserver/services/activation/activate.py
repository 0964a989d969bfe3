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
from datetime import datetime
from typing import Any

from sqlalchemy.exc import IntegrityError

from licserver.crypto import random_token
from licserver.database import begin_write, is_postgres
from licserver.domain import policy as rules
from licserver.domain import seats as seat_rules
from licserver.domain.status import usability_error
from licserver.faults import fault
from licserver.models import utcnow
from licserver.services import Origin, legacy_keys
from licserver.services.activation import fast_path
from licserver.services.activation.certificates import issue_certificate
from licserver.services.activation.entitlements import features
from licserver.services.activation.recording import (
    Refusal,
    record_refusal,
)
from licserver.services.activation.results import (
    NO_REQUEST,
    ActivationResult,
    Request,
)
from licserver.services.activation.snapshots import (
    View,
    candidates,
    degenerate,
    views,
)
from licserver.services.activation.writes import Ask, Write, Written
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
    ask = Ask(attempt, creds, claims, company_ids, client, signer, event_data, request)
    try:
        return _activate(ask)
    except IntegrityError:
        # PostgreSQL: a request of this same installation inserted its activation
        # (or, on a trial, its trial) after our read (a unique index stopped ours).
        # Once more: it is found.
        session.rollback()
        return _activate(ask)


def _activate(ask: Ask) -> ActivationResult:
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


def _write_on_current_rows(ask: Ask, now: datetime, token: str) -> Written:
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
        written = Write(ask, view, now, token).run(full=False)
        if written is not None:
            return written
    view, full = _choose_on(ask, ask.load(), now)
    written = Write(ask, view, now, token).run(full=full)
    if written is None:  # deactivations take the licence lock first: cannot happen
        raise RuntimeError("live activation changed under the licence lock")
    return written


def _choose_on(ask: Ask, rows: Sequence[Any], now: datetime) -> tuple[View, bool]:
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
