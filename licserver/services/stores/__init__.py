"""Store integrations: ``integrations`` (the vendor's settings), ``receive``
(a store's webhook: verify, record, apply once) and ``lifecycle`` (what each
command does to licences, shared by every store)."""

from __future__ import annotations

from licserver.services.context import Context as Ctx

SECRET_PURPOSE = "store_signing_secret"

__all__ = ["SECRET_PURPOSE", "Ctx"]
