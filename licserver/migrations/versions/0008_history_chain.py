"""tamper-evident history chain

Adds the chain columns to events, the head to licences and the table of signed
heads, then chains the existing events of every licence in id order (the same
canonical form and hash as new events: licserver.domain.history).

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import licserver.models.base
from licserver.domain import history as chain

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
BATCH = 1000


def upgrade() -> None:
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("chain_seq", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("chain_prev", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("chain_hash", sa.String(length=64), nullable=True))
    with op.batch_alter_table("licenses", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("history_seq", sa.Integer(), server_default="0", nullable=False)
        )
        batch_op.add_column(sa.Column("history_head", sa.String(length=64), nullable=True))
    op.create_table(
        "history_heads",
        sa.Column("id", BigId, nullable=False),
        sa.Column("license_id", BigId, nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("head", sa.String(length=64), nullable=False),
        sa.Column("signed_at", licserver.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("kid", sa.String(length=32), nullable=False),
        sa.Column("token", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["license_id"], ["licenses.id"], name=op.f("fk_history_heads_license_id_licenses")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_history_heads")),
    )
    with op.batch_alter_table("history_heads", schema=None) as batch_op:
        batch_op.create_index("ix_history_heads_license_id_id", ["license_id", "id"], unique=False)
    _backfill()


def _backfill() -> None:
    """Chain the events already there, licence by licence, in id order."""
    conn = op.get_bind()
    events = sa.table(
        "events",
        sa.column("id", BigId),
        sa.column("license_id", BigId),
        sa.column("customer_id", BigId),
        sa.column("activation_id", sa.String()),
        sa.column("installation_id", sa.String()),
        sa.column("machine_name", sa.String()),
        sa.column("at", licserver.models.base.UTCDateTime()),
        sa.column("kind", sa.String()),
        sa.column("actor_type", sa.String()),
        sa.column("actor_id", sa.String()),
        sa.column("ip", sa.String()),
        sa.column("reason", sa.String()),
        sa.column("data", sa.JSON()),
        sa.column("chain_seq", sa.Integer()),
        sa.column("chain_prev", sa.String()),
        sa.column("chain_hash", sa.String()),
    )
    licenses = sa.table(
        "licenses",
        sa.column("id", BigId),
        sa.column("history_seq", sa.Integer()),
        sa.column("history_head", sa.String()),
    )
    fields = [n for n in chain.FIELDS if n != "seq"]
    set_event = (
        sa.update(events)
        .where(events.c.id == sa.bindparam("b_id"))
        .values(
            chain_seq=sa.bindparam("b_seq"),
            chain_prev=sa.bindparam("b_prev"),
            chain_hash=sa.bindparam("b_hash"),
        )
    )
    set_head = (
        sa.update(licenses)
        .where(licenses.c.id == sa.bindparam("b_id"))
        .values(history_seq=sa.bindparam("b_seq"), history_head=sa.bindparam("b_head"))
    )
    heads: dict[int, tuple[int, str | None]] = {}
    after = 0
    while True:
        rows = conn.execute(
            sa.select(events.c.id, *(events.c[n] for n in fields))
            .where(events.c.license_id.is_not(None), events.c.id > after)
            .order_by(events.c.id)
            .limit(BATCH)
        ).all()
        if not rows:
            break
        updates = []
        for r in rows:
            seq, prev = heads.get(r.license_id, (0, None))
            seq += 1
            values = {n: getattr(r, n) for n in fields}
            digest = chain.chain_hash(prev, chain.canonical({**values, "seq": seq}))
            updates.append({"b_id": r.id, "b_seq": seq, "b_prev": prev, "b_hash": digest})
            heads[r.license_id] = (seq, digest)
        conn.execute(set_event, updates)
        after = rows[-1].id
    if heads:
        conn.execute(
            set_head, [{"b_id": k, "b_seq": s, "b_head": h} for k, (s, h) in heads.items()]
        )


def downgrade() -> None:
    with op.batch_alter_table("history_heads", schema=None) as batch_op:
        batch_op.drop_index("ix_history_heads_license_id_id")
    op.drop_table("history_heads")
    # ALTER TABLE ... DROP COLUMN on both databases (SQLite 3.35+): a batch copy of
    # licenses would have to drop a table other tables' foreign keys point to.
    op.drop_column("licenses", "history_head")
    op.drop_column("licenses", "history_seq")
    op.drop_column("events", "chain_hash")
    op.drop_column("events", "chain_prev")
    op.drop_column("events", "chain_seq")
