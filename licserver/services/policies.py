"""Policies of a product: create, list, change (with a dry run of the change)."""

from __future__ import annotations
