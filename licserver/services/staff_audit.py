"""Events for console actions that no other service records: admin tokens
created or revoked, staff accounts created. (Disabling, enabling, a new role
and new passwords are recorded by ``services.staff`` in the change's own
transaction.)"""

from __future__ import annotations

from typing import Any

from licserver.database import begin_write
from licserver.services import Origin, events
from licserver.services.context import Context


def record(ctx: Context, kind: str, origin: Origin, data: dict[str, Any]) -> None:
    """One event, in a transaction of its own, after the change it describes."""
    session = ctx.session
    begin_write(session)
    events.record(session, kind, origin, data=data)
    session.commit()
