"""Vendor staff accounts (the /admin console)."""

from __future__ import annotations
