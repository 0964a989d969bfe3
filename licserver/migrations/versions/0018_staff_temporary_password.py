"""staff passwords set by another admin are temporary: changed at the next log-in

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-02 10:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMN (SQLite has it; no batch copy of the table).
    op.add_column(
        'staff_users',
        sa.Column('password_temporary', sa.Boolean(), server_default=sa.false(), nullable=False),
    )


def downgrade() -> None:
    with op.batch_alter_table('staff_users') as batch:
        batch.drop_column('password_temporary')
