"""The database's schema and the keys a fresh server needs: ``licserver init``
and ``licserver db upgrade|revision`` (Alembic, through licserver.migrate)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine

from licserver import migrate
from licserver.services.context import Context
from licserver.services.keys import ensure_signing_key


@dataclass(frozen=True)
class InitReport:
    database: str  # its URL, password hidden
    revision: str | None  # the schema's revision now
    kid: str  # the active signing key
    key_created: bool
    keys_dir: Path


def engine(ctx: Context) -> Engine:
    bind = ctx.session.get_bind()
    assert isinstance(bind, Engine)
    return bind


def database_label(ctx: Context) -> str:
    """The database's URL as a user may see it (no password)."""
    return engine(ctx).url.render_as_string(hide_password=True)


def init(ctx: Context) -> InitReport:
    """Create or upgrade the schema, then make sure the data key (opening
    ``ctx.box``: give a context that may create it) and an active signing key
    exist. Safe to run again: what exists is kept. Raises OSError, ValueError or
    RuntimeError (unreadable keys, a wrong passphrase, a database refused)."""
    bind = engine(ctx)
    migrate.upgrade(bind)
    _ = ctx.box
    keys_dir = ctx.keyring.keys_dir
    kid, created = ensure_signing_key(ctx, keys_dir, ctx.keyring.passphrase)
    return InitReport(database_label(ctx), migrate.current(bind), kid, created, keys_dir)


def missing_schema(ctx: Context) -> str | None:
    """Why this database cannot serve (no licserver schema in it), or None."""
    from sqlalchemy import inspect

    try:
        tables = inspect(engine(ctx))
        present = tables.has_table("alembic_version") or tables.has_table("products")
    except Exception as exc:  # unreachable server, refused login: said as it is
        return f"cannot open the database {database_label(ctx)}: {exc}"
    if not present:
        return f"the database {database_label(ctx)} has no licserver schema: run 'licserver init'"
    return None


def upgrade(ctx: Context) -> str | None:
    """Apply every pending migration; the revision the schema is at now."""
    bind = engine(ctx)
    migrate.upgrade(bind)
    return migrate.current(bind)


def revision(ctx: Context, message: str) -> None:
    """Write a new migration from the difference between the models and the database."""
    migrate.revision(engine(ctx), message)
