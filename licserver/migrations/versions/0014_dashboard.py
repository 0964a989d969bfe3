"""dashboard: daily counts of activations and refusals, and the latest figures

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-02 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import licserver.models.base

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "dashboard_days",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dashboard_days")),
        sa.UniqueConstraint("day", "product_id", "kind", "code", name="uq_dashboard_days_key"),
    )
    op.create_table(
        "dashboard_state",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("refreshed_at", licserver.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("events_through", sa.BigInteger(), nullable=False),
        sa.Column("figures", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dashboard_state")),
    )


def downgrade() -> None:
    op.drop_table("dashboard_state")
    op.drop_table("dashboard_days")
