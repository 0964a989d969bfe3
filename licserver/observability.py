"""Request IDs, structured logs and Prometheus metrics."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Install the request hooks."""
