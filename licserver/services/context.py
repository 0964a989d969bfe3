"""What every service needs besides its arguments: one :class:`Context`.

Web and CLI code get one with :func:`licserver.runtime.context` (built from the
current app); tests do the same. A service takes it as its first parameter."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from licserver.crypto import Box
from licserver.models.base import utcnow
from licserver.services.settings import Settings

if TYPE_CHECKING:  # both import this module for their own signatures
    from licserver.services.keys import Keyring
    from licserver.services.notices import Mailer

Clock = Callable[[], datetime]


@dataclass(frozen=True)
class Context:
    session: Session
    keyring: Keyring
    settings: Settings
    mailer: Mailer
    # The data box is opened on first use: commands that never touch sealed
    # data (and the one that creates the data key) run without it.
    open_box: Callable[[], Box]
    clock: Clock = utcnow

    @property
    def box(self) -> Box:
        return self.open_box()

    def now(self) -> datetime:
        return self.clock()
