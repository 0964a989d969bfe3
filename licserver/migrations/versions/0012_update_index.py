"""updates: index the update check's candidate query (product, status, channel)

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02 08:10:00
"""

from __future__ import annotations

from alembic import op

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('releases', schema=None) as batch_op:
        batch_op.create_index(
            'ix_releases_product_status', ['product_id', 'status', 'channel'], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table('releases', schema=None) as batch_op:
        batch_op.drop_index('ix_releases_product_status')
