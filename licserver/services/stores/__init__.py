"""Store integrations: ``integrations`` (the vendor's settings), ``receive``
(a store's webhook: verify, record, apply once) and ``lifecycle`` (what each
command does to licences, shared by every store)."""

from __future__ import annotations

from typing import Protocol

from sqlalchemy.orm import Session

from licserver.crypto import Box
from licserver.services.keys import Keyring

SECRET_PURPOSE = "store_signing_secret"


class Ctx(Protocol):
    """What these services need from the request's context."""

    session: Session
    keyring: Keyring
    box: Box
