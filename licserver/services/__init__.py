"""One module per use case. A service takes a Context (services.context) and plain
values, loads,
decides with ``licserver.domain``, persists, and commits. Views and CLI commands
call the same services; neither touches the session themselves."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Actor:
    """Who did it: ``client`` (an installation), ``admin`` (a token or staff
    user), ``user`` (a customer's portal user) or ``system``."""

    type: str
    id: str | None = None


SYSTEM = Actor("system")
# An installation, over the client API (no id: it names itself in the request).
CLIENT = Actor("client")


@dataclass(frozen=True)
class Origin:
    """Where a request came from, for the history."""

    actor: Actor
    ip: str | None = None


# Changes no one asked for over a request or a command (and test set-up).
SYSTEM_ORIGIN = Origin(SYSTEM)
