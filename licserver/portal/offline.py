"""Offline activation pages."""

from __future__ import annotations
