"""Alembic environment. Run through ``licserver init`` (or ``licserver db ...``),
which hands us a connection from the app's engine."""

from __future__ import annotations

from alembic import context

from licserver.models import Base

config = context.config
target_metadata = Base.metadata


def run() -> None:
    connection = config.attributes.get("connection")
    if connection is None:
        raise RuntimeError("run migrations with 'licserver init' or 'licserver db upgrade'")
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


run()
