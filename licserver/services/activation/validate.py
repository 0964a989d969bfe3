"""Validation: read-only, is this installation licensed now? Answered with a code.

One statement reads all it needs (PostgreSQL: in autocommit); a report-only
licence's would-be refusals are recorded afterwards, in a write of their own.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from licserver.database import begin_autocommit, begin_write
from licserver.domain import policy as rules
from licserver.domain import seats as seat_rules
from licserver.models import utcnow
from licserver.services import Origin, events, legacy_keys
from licserver.services.activation.entitlements import features
from licserver.services.activation.recording import warning
from licserver.services.activation.results import (
    NO_REQUEST,
    LicenseSummary,
    PolicyWarning,
    Request,
    ValidationResult,
)
from licserver.services.activation.snapshots import View, candidates, degenerate, load, views
from licserver.services.context import Context
from licserver.services.credentials import (
    COMPANY_PASSWORD,
    Attempt,
    Credentials,
    authenticate_company,
)

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
    creds = legacy_keys.resolve(ctx, creds)
    company_ids = None
    if creds.kind == COMPANY_PASSWORD:
        company_ids = authenticate_company(attempt, creds)
    try:
        begin_autocommit(session)  # one statement reads all it needs
        rows = load(ctx, attempt, creds, None, company_ids, installation_id, lock=False)
        refused = degenerate(rows, installation_id)
        if refused is not None:
            raise refused
        result, lic = _answer(rows, utcnow(), request)
    finally:
        if session.in_transaction():
            session.commit()
    if result.warnings:
        _report_validation(ctx, origin, lic, installation_id, result.warnings)
    return result


def _pick(rows: Sequence[Any], now: datetime, request: Request) -> tuple[View, Any]:
    """The licence that answers (and its seat-rule candidate): one this
    installation is active on and may use, else the one it could activate on,
    else one it is active on, else the one whose condition refuses."""
    vs = views(rows, now, request.release_date)
    cands = candidates(vs, now, leased=True)
    by_id = {v.row.id: v for v in vs}
    here = [c for c in cands if c.active_here]
    pick = (
        next((c for c in here if c.status == "active"), None)
        or seat_rules.choose_license(cands)
        or (here[0] if here else None)
        or seat_rules.refusal_for_unusable(cands)
    )
    return by_id[pick.key], pick


def _answer(rows: Sequence[Any], now: datetime, request: Request) -> tuple[ValidationResult, Any]:
    """The validation's answer on ``rows``, and the licence row that gave it."""
    view, pick = _pick(rows, now, request)
    s, lic = view.settings, view.row
    warnings: list[PolicyWarning] = []
    if pick.status != "active":
        code = f"LICENSE_{pick.status.upper()}"
    elif pick.active_here:
        code = "VALID"
        err = view.condition_error
        if err is not None:  # report-only
            warnings.append(warning(err))
    else:
        code = "NOT_ACTIVATED"
    granted = features(s, lic.features)
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
    return ValidationResult(code == "VALID", code, summary, view.status, warnings, missing), lic


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
