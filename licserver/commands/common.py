"""What the CLI's commands share: failing with a readable message and exit
status 1, and a domain error worded for a terminal."""

from __future__ import annotations

import sys
from typing import NoReturn

import click

from licserver.domain.errors import LicenseServerError, ValidationFailed
from licserver.extensions import db


def fail(message: str) -> NoReturn:
    """Print ``Error: message`` on stderr and exit with status 1."""
    click.echo(f"Error: {message}", err=True)
    # Close the database connections before leaving: an exit in mid-command
    # would otherwise drop them unclosed (PostgreSQL logs it, Python warns).
    db.session.remove()
    db.engine.dispose()
    sys.exit(1)


def error_message(exc: LicenseServerError) -> str:
    """A ValidationFailed's fields (``field: problem; ...``), else its detail."""
    if isinstance(exc, ValidationFailed):
        return "; ".join(f"{k}: {' '.join(v)}" for k, v in exc.errors.items())
    return exc.detail
