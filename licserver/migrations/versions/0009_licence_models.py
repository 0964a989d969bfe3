"""licence models: policies, leases, heartbeats, trials, sites, fingerprints

Adds the policies table and the record of trials used; licences get their policy,
overrides, first activation and conversion time; activations their lease,
heartbeat deadline, inactive mark, licensed site and secondary identifiers.
Existing licences have no policy: they keep today's node-locked behaviour.
Only ADD COLUMN and CREATE INDEX on existing tables, so no table is rebuilt.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import licserver.models.base

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
UTC = licserver.models.base.UTCDateTime(timezone=True)
LIVE_LEASE = "deactivated_at IS NULL AND lease_expires_at IS NOT NULL"
LIVE_HEARTBEAT = "deactivated_at IS NULL AND heartbeat_deadline IS NOT NULL"


def upgrade() -> None:
    op.create_table(
        "policies",
        sa.Column("id", BigId, nullable=False),
        sa.Column("public_id", sa.String(length=16), nullable=False),
        sa.Column("product_id", BigId, nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("settings", sa.JSON(), nullable=False),
        sa.Column("plain", sa.Boolean(), nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("updated_at", UTC, nullable=False),
        sa.ForeignKeyConstraint(
            ["product_id"], ["products.id"], name=op.f("fk_policies_product_id_products")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_policies")),
        sa.UniqueConstraint("product_id", "name", name="uq_policies_product_name"),
        sa.UniqueConstraint("public_id", name=op.f("uq_policies_public_id")),
    )
    op.create_index(op.f("ix_policies_product_id"), "policies", ["product_id"], unique=False)
    op.create_table(
        "trial_uses",
        sa.Column("id", BigId, nullable=False),
        sa.Column("product_id", BigId, nullable=False),
        sa.Column("installation_id", sa.String(length=128), nullable=False),
        sa.Column("license_id", BigId, nullable=False),
        sa.Column("at", UTC, nullable=False),
        sa.ForeignKeyConstraint(
            ["license_id"], ["licenses.id"], name=op.f("fk_trial_uses_license_id_licenses")
        ),
        sa.ForeignKeyConstraint(
            ["product_id"], ["products.id"], name=op.f("fk_trial_uses_product_id_products")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_trial_uses")),
        sa.UniqueConstraint("product_id", "installation_id", name="uq_trial_uses_product_iid"),
    )
    op.create_index(op.f("ix_trial_uses_license_id"), "trial_uses", ["license_id"], unique=False)

    op.add_column("activations", sa.Column("lease_expires_at", UTC, nullable=True))
    op.add_column("activations", sa.Column("heartbeat_deadline", UTC, nullable=True))
    op.add_column("activations", sa.Column("inactive_since", UTC, nullable=True))
    op.add_column("activations", sa.Column("site_url", sa.String(length=2048), nullable=True))
    op.add_column("activations", sa.Column("fingerprints", sa.JSON(), nullable=True))
    op.create_index(
        "ix_activations_live_heartbeat",
        "activations",
        ["heartbeat_deadline"],
        unique=False,
        sqlite_where=sa.text(LIVE_HEARTBEAT),
        postgresql_where=sa.text(LIVE_HEARTBEAT),
    )
    op.create_index(
        "ix_activations_live_lease",
        "activations",
        ["lease_expires_at"],
        unique=False,
        sqlite_where=sa.text(LIVE_LEASE),
        postgresql_where=sa.text(LIVE_LEASE),
    )

    # A nullable column with REFERENCES is an ADD COLUMN on SQLite too: no rebuild
    # (Alembic would rebuild the table for the constraint, so it is written out).
    if op.get_bind().dialect.name == "sqlite":
        op.execute(
            "ALTER TABLE licenses ADD COLUMN policy_id INTEGER "
            "CONSTRAINT fk_licenses_policy_id_policies REFERENCES policies (id)"
        )
    else:
        op.add_column("licenses", sa.Column("policy_id", BigId, nullable=True))
        op.create_foreign_key(
            op.f("fk_licenses_policy_id_policies"), "licenses", "policies", ["policy_id"], ["id"]
        )
    op.add_column("licenses", sa.Column("policy_overrides", sa.JSON(), nullable=True))
    op.add_column("licenses", sa.Column("first_activated_at", UTC, nullable=True))
    op.add_column("licenses", sa.Column("converted_at", UTC, nullable=True))
    op.create_index(op.f("ix_licenses_policy_id"), "licenses", ["policy_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_licenses_policy_id"), table_name="licenses")
    # DROP COLUMN on SQLite too (3.35+): a batch rebuild of licenses would drop
    # and recreate a table other tables reference.
    if op.get_bind().dialect.name != "sqlite":
        op.drop_constraint(op.f("fk_licenses_policy_id_policies"), "licenses", type_="foreignkey")
    for column in ("converted_at", "first_activated_at", "policy_overrides", "policy_id"):
        op.drop_column("licenses", column)
    op.drop_index("ix_activations_live_lease", table_name="activations")
    op.drop_index("ix_activations_live_heartbeat", table_name="activations")
    # DROP COLUMN, not a batch rebuild: a rebuild would lose the expression index
    # on lower(machine_name), which SQLite cannot reflect.
    for column in (
        "fingerprints",
        "site_url",
        "inactive_since",
        "heartbeat_deadline",
        "lease_expires_at",
    ):
        op.drop_column("activations", column)
    op.drop_index(op.f("ix_trial_uses_license_id"), table_name="trial_uses")
    op.drop_table("trial_uses")
    op.drop_index(op.f("ix_policies_product_id"), table_name="policies")
    op.drop_table("policies")
