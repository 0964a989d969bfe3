"""/healthz (the process answers) and /readyz (and the database too)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text

from licserver.api.blueprint import Blueprint
from licserver.api.docs import errors
from licserver.api.schemas.client import HealthOut
from licserver.extensions import db

blp = Blueprint("health", __name__, description="Health")


@blp.get("/healthz")
@blp.response(200, HealthOut)
def healthz() -> dict[str, Any]:
    """The process is up. Touches nothing else."""
    return {"status": "ok"}


@blp.get("/readyz")
@blp.response(200, HealthOut)
@errors(blp, 503)
def readyz() -> dict[str, Any]:
    """The database answers."""
    try:
        db.session.execute(text("SELECT 1"))
    finally:
        db.session.rollback()
    return {"status": "ok"}
