"""licences: indexes for the console's licence list (newest first; newest first of one product)

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-03 12:00:00
"""

from __future__ import annotations

from alembic import op

revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_licenses_created', 'licenses', ['created_at', 'id'])
    op.create_index('ix_licenses_product', 'licenses', ['product_id', 'created_at', 'id'])


def downgrade() -> None:
    op.drop_index('ix_licenses_product', table_name='licenses')
    op.drop_index('ix_licenses_created', table_name='licenses')
