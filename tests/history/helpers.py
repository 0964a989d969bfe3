"""Helpers of tests/history (not fixtures): moved out of its conftest so test
modules import them from here."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import Flask
from sqlalchemy import text

from licserver.extensions import db


@dataclass
class CliResult:
    exit_code: int
    stdout: str
    stderr: str


def cli(app: Flask, *args: str) -> CliResult:
    """``licserver ARGS`` in this process (the same click commands)."""
    result = app.test_cli_runner().invoke(args=list(args))
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return CliResult(result.exit_code, result.stdout, result.stderr)


def sql(statement: str, **params: Any) -> list[Any]:
    """Run SQL directly, as someone with database access would, and commit."""
    session = db.session()
    session.commit()  # a read left open (SQLite: its snapshot) would hide newer rows
    result = session.execute(text(statement), params)
    rows = list(result.all()) if result.returns_rows else []
    session.commit()
    return rows


def event_ids(license_public_id: str) -> list[int]:
    rows = sql(
        "SELECT e.id FROM events e JOIN licenses l ON l.id = e.license_id "
        "WHERE l.public_id = :lid ORDER BY e.id",
        lid=license_public_id,
    )
    return [r.id for r in rows]
