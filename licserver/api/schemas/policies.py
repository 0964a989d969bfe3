"""Schemas of the admin API's policies."""

from __future__ import annotations
