"""Customer portal roles, lowest to highest. The full permission matrix of the
portal is built on this order."""

from __future__ import annotations

ROLES = ("basic", "billing", "technical", "manager", "owner")
