"""The staff console: server-rendered pages under ``/admin`` for the vendor's staff."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the console."""
