"""Every page of the portal, registered on one blueprint."""

from __future__ import annotations

from licserver.portal import account, auth, history, licenses, payments, users
from licserver.portal.base import bp

__all__ = ["account", "auth", "bp", "history", "licenses", "payments", "users"]
