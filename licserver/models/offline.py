"""Offline (air-gapped) activation: used offline deactivation codes."""

from __future__ import annotations
