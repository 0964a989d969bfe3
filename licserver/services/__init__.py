"""One module per use case. A service takes a session and plain values, loads,
decides with ``licserver.domain``, persists, and commits. Views and CLI commands
call the same services; neither touches the session themselves."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from licserver.crypto import Box
from licserver.domain.budget import Budget
from licserver.services.keys import Keyring


@dataclass(frozen=True)
class Actor:
    """Who did it: ``client`` (an installation), ``admin`` (a token or staff
    user), ``user`` (a customer's portal user) or ``system``."""

    type: str
    id: str | None = None


SYSTEM = Actor("system")


@dataclass(frozen=True)
class Origin:
    """Where a request came from, for the history."""

    actor: Actor
    ip: str | None = None


# Changes no one asked for over a request or a command (and test set-up).
SYSTEM_ORIGIN = Origin(SYSTEM)


@dataclass
class Deps:
    """What every service needs besides its arguments."""

    session: Session
    keyring: Keyring
    box: Box
    # None: no failed-attempt budget (RATE_LIMITS=off turns every limit off).
    failed_attempts_limit: int | None = 20
    failed_attempts_window: int = 3600
    # None: client and portal deactivations are not limited (DEACTIVATION_BUDGET = 0).
    deactivation_budget: Budget | None = None
