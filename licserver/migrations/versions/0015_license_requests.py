"""license requests: portal users ask for more seats or a renewal; products may
name a store checkout page instead

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-03 09:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import licserver.models.base

revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD/DROP COLUMN (SQLite has both): a batch copy of products would
    # drop the table that licences refer to, which foreign keys refuse.
    op.add_column('products', sa.Column('checkout_url', sa.String(length=500), nullable=True))
    op.create_table(
        'license_requests',
        sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
        sa.Column('license_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
        sa.Column('customer_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('seats', sa.Integer(), nullable=True),
        sa.Column('note', sa.Text(), nullable=True),
        sa.Column('requested_by_email', sa.String(length=320), nullable=False),
        sa.Column('requested_by_name', sa.String(length=200), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('created_at', licserver.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column('decided_at', licserver.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column('decided_by', sa.String(length=320), nullable=True),
        sa.Column('reason', sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_license_requests_customer_id_customers')),
        sa.ForeignKeyConstraint(['license_id'], ['licenses.id'], name=op.f('fk_license_requests_license_id_licenses'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_license_requests')),
    )
    with op.batch_alter_table('license_requests', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_license_requests_license_id'), ['license_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_license_requests_customer_id'), ['customer_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_license_requests_status'), ['status'], unique=False)


def downgrade() -> None:
    op.drop_table('license_requests')
    op.drop_column('products', 'checkout_url')
