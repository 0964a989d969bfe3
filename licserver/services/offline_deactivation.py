"""Offline deactivation (docs/api.md, "Offline activation").

The machine deactivates itself offline (``deactivate_offline``): it deletes its
activation and shows a code (``LOD1.…``) whose ``mac`` is HMAC-SHA256 keyed with
the activation token as the server stores it (its SHA-256 hex), over
``licserver-offline-deactivation|aid|iid|iat|nonce``. ``redeem_deactivation``
checks it and frees the seat (``activation.deactivate``, reason ``offline``);
each code is redeemed once (``OfflineDeactivationCode``).
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from licserver.crypto import b64u_decode
from licserver.database import begin_write
from licserver.domain.errors import Conflict, InvalidCredentials, ValidationFailed
from licserver.models import Activation, License, utcnow
from licserver.models.offline import OfflineDeactivationCode
from licserver.services import Origin
from licserver.services import activation as activation_service
from licserver.services.context import Context
from licserver.services.offline import (
    DEACTIVATION_REASON,
    DeactivationCode,
    deactivation_mac,
    parse_deactivation,
)


@dataclass(frozen=True)
class OfflineDeactivation:
    activation: Activation
    license_id: str  # the licence's public id
    license_row_id: int
    changed: bool  # False: it was deactivated already (by someone else)


def find_activation(ctx: Context, code: DeactivationCode) -> Activation:
    """The activation a code names, its MAC checked; INVALID_CREDENTIALS for a
    forged, altered or stale code (one answer: no oracle on activation ids)."""
    session = ctx.session
    act = session.scalars(
        select(Activation)
        .where(Activation.public_id == code.activation_id)
        .execution_options(populate_existing=True)
    ).first()
    try:
        given = b64u_decode(code.mac)
    except ValueError:
        given = b""
    if act is None:
        raise _forged()
    expected = deactivation_mac(
        act.token_hash, code.activation_id, code.installation_id, code.made_at, code.nonce
    )
    if not hmac.compare_digest(expected, given) or act.installation_id != code.installation_id:
        raise _forged()
    return act


def _forged() -> InvalidCredentials:
    return InvalidCredentials(
        "This deactivation code is not valid: it was not made by an installation's current "
        "activation, or it was altered. Copy it again from the machine, exactly."
    )


def redeem_deactivation(
    ctx: Context,
    origin: Origin,
    code: DeactivationCode,
    *,
    reason: str = DEACTIVATION_REASON,
) -> OfflineDeactivation:
    """Free the seat of the activation a genuine code names; each code once.

    The caller has found the activation with ``find_activation`` and checked that
    whoever pastes the code may act on its licence. A second use is CONFLICT; a
    deactivation already made otherwise (staff, portal) still uses the code up.
    """
    session = ctx.session
    code_hash = hashlib.sha256(code.token.encode("ascii")).hexdigest()
    try:
        used = session.scalars(
            select(OfflineDeactivationCode).where(OfflineDeactivationCode.code_hash == code_hash)
        ).first()
    finally:
        session.rollback()
    if used is not None:
        raise _used(used.used_at)
    act = find_activation(ctx, code)
    was_active = act.deactivated_at is None
    act = activation_service.deactivate(ctx, code.activation_id, origin, reason=reason)
    changed = was_active and act.deactivated_by_id == origin.actor.id
    begin_write(session)
    try:
        session.add(
            OfflineDeactivationCode(
                code_hash=code_hash,
                activation_id=act.id,
                license_id=act.license_id,
                used_by_type=origin.actor.type,
                used_by_id=origin.actor.id,
            )
        )
        lic = session.get(License, act.license_id)
        assert lic is not None
        result = OfflineDeactivation(act, lic.public_id, lic.id, changed)
        session.commit()
    except IntegrityError:
        # The same code, redeemed at the same moment elsewhere: the first one counts.
        session.rollback()
        raise _used(utcnow()) from None
    except BaseException:
        session.rollback()
        raise
    return result


def _used(at: datetime) -> Conflict:
    return Conflict(
        f"This deactivation code was already used ({at:%Y-%m-%d %H:%M} UTC); "
        "its installation is deactivated."
    )


def deactivate_offline(
    ctx: Context,
    origin: Origin,
    text: str | None,
    *,
    license_id: str | None = None,
    field: str = "code",
) -> OfflineDeactivation:
    """Redeem a pasted deactivation code (``text``): the offline pages' use case.

    ``license_id``: the licence the caller may act on (the portal page's); a code
    of another licence's installation is refused before anything changes."""
    code = parse_deactivation(text, field)
    if license_id is not None and find_activation(ctx, code).license.public_id != license_id:
        raise ValidationFailed(
            {
                field: [
                    "This deactivation code is for an installation of another "
                    "licence: paste it on that licence's page."
                ]
            }
        )
    return redeem_deactivation(ctx, origin, code)
