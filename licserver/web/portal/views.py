"""Every page of the portal, registered on one blueprint."""

from __future__ import annotations

from licserver.web.portal import (
    account,
    auth,
    downloads,
    history,
    licenses,
    offline,
    payments,
    requests,
    users,
)
from licserver.web.portal.base import bp

__all__ = [
    "account",
    "auth",
    "bp",
    "downloads",
    "history",
    "licenses",
    "offline",
    "payments",
    "requests",
    "users",
]
