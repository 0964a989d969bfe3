"""updates: releases.version_key (sorts as semantic versions do) indexed for the
update check's newest-first query; the unused feed_tokens table dropped (feed
tokens are derived, services.feeds)

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-02 10:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import licserver.models.base
from licserver.domain.updates import version_key_of

revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None

_KEY = sa.String(length=200).with_variant(sa.String(length=200, collation='C'), 'postgresql')


def upgrade() -> None:
    # Plain ADD COLUMN (SQLite has it): a batch copy of releases would drop the
    # table that artifacts and check counts refer to.
    op.add_column('releases', sa.Column('version_key', _KEY, nullable=True))
    conn = op.get_bind()
    releases = sa.table(
        'releases', sa.column('id', sa.BigInteger()), sa.column('version', sa.String()),
        sa.column('version_key', _KEY),
    )
    rows = conn.execute(sa.select(releases.c.id, releases.c.version)).all()
    for rid, version in rows:
        key = version_key_of(version)
        if key is not None:
            conn.execute(
                releases.update().where(releases.c.id == rid).values(version_key=key)
            )
    op.create_index(
        'ix_releases_newest', 'releases', ['product_id', 'channel', 'status', 'version_key'],
        unique=False,
    )
    op.drop_index('ix_feed_tokens_activation_id', table_name='feed_tokens')
    op.drop_table('feed_tokens')


def downgrade() -> None:
    op.create_table('feed_tokens',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('activation_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('token_sha256', sa.String(length=64), nullable=False),
    sa.Column('created_at', licserver.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['activation_id'], ['activations.id'], name=op.f('fk_feed_tokens_activation_id_activations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_feed_tokens')),
    sa.UniqueConstraint('token_sha256', name=op.f('uq_feed_tokens_token_sha256'))
    )
    op.create_index('ix_feed_tokens_activation_id', 'feed_tokens', ['activation_id'], unique=False)
    op.drop_index('ix_releases_newest', table_name='releases')
    # SQLite 3.35+ drops a column in place (no table copy).
    op.drop_column('releases', 'version_key')
