"""security: deactivation budget, sessions

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Server-side log-out: a portal session names the generation it was made in;
    # log-out and password changes move it on, so older cookies stop working.
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("session_generation", sa.Integer(), server_default="0", nullable=False)
        )
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "company_session_generation", sa.Integer(), server_default="0", nullable=False
            )
        )
    # The deactivation budget counts a licence's recent deactivations.
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.create_index(
            "ix_events_license_kind_at", ["license_id", "kind", "at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_index("ix_events_license_kind_at")
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.drop_column("company_session_generation")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("session_generation")
