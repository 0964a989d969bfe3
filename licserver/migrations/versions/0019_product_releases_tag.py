"""products.releases_tag: changes whenever a release or artifact of the product
changes, so a server can keep the update check's release pages in memory and
know, in the same read as the machine, when they went stale

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-02 14:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        'products',
        sa.Column('releases_tag', sa.String(16), server_default='', nullable=False),
    )


def downgrade() -> None:
    op.drop_column('products', 'releases_tag')
