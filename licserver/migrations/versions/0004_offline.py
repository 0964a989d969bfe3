"""offline activation: used offline deactivation codes

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import licserver.models.base

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "offline_deactivation_codes",
        sa.Column("id", _ID, nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("activation_id", _ID, nullable=False),
        sa.Column("license_id", _ID, nullable=False),
        sa.Column("used_at", licserver.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("used_by_type", sa.String(length=16), nullable=False),
        sa.Column("used_by_id", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["activation_id"],
            ["activations.id"],
            name=op.f("fk_offline_deactivation_codes_activation_id_activations"),
        ),
        sa.ForeignKeyConstraint(
            ["license_id"],
            ["licenses.id"],
            name=op.f("fk_offline_deactivation_codes_license_id_licenses"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_offline_deactivation_codes")),
        sa.UniqueConstraint("code_hash", name=op.f("uq_offline_deactivation_codes_code_hash")),
    )
    with op.batch_alter_table("offline_deactivation_codes", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_offline_deactivation_codes_activation_id"),
            ["activation_id"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_offline_deactivation_codes_license_id"), ["license_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("offline_deactivation_codes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_offline_deactivation_codes_license_id"))
        batch_op.drop_index(batch_op.f("ix_offline_deactivation_codes_activation_id"))
    op.drop_table("offline_deactivation_codes")
