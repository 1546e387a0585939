"""queue entries, recorded facts, call end and announced UIN

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 02:29:07.184592
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "recorded_facts",
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )
    op.create_table(
        "queue_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("call_id", sa.Integer(), nullable=False),
        sa.Column("entry", sa.Integer(), nullable=False),
        sa.Column("queue", sa.String(length=80), nullable=False),
        sa.Column("position", sa.Integer(), nullable=True),
        sa.Column("joined_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("left_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("wait_s", sa.Double(), nullable=True),
        sa.Column("agent", sa.String(length=80), nullable=True),
        sa.Column(
            "outcome",
            sa.Enum(
                "waiting",
                "answered",
                "abandoned",
                name="queue_entry_outcome",
                native_enum=False,
                create_constraint=True,
                length=20,
            ),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["call_id"],
            ["calls.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("call_id", "entry"),
    )
    with op.batch_alter_table("queue_entries", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_queue_entries_call_id"), ["call_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_queue_entries_joined_at"), ["joined_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_queue_entries_queue"), ["queue"], unique=False)

    with op.batch_alter_table("calls", schema=None) as batch_op:
        batch_op.add_column(sa.Column("talk_s", sa.Double(), nullable=True))
        batch_op.add_column(sa.Column("hung_up_by", sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column("announced_uin", sa.String(length=20), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("calls", schema=None) as batch_op:
        batch_op.drop_column("announced_uin")
        batch_op.drop_column("hung_up_by")
        batch_op.drop_column("talk_s")

    with op.batch_alter_table("queue_entries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_queue_entries_queue"))
        batch_op.drop_index(batch_op.f("ix_queue_entries_joined_at"))
        batch_op.drop_index(batch_op.f("ix_queue_entries_call_id"))

    op.drop_table("queue_entries")
    op.drop_table("recorded_facts")
