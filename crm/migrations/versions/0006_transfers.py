"""transfers and call contexts

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-22 03:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "transfers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("call_id", sa.Integer(), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.Column("from_agent", sa.String(length=80), nullable=True),
        sa.Column("to", sa.String(length=80), nullable=False),
        sa.Column("mode", sa.String(length=20), nullable=False),
        sa.Column("how", sa.String(length=20), nullable=False),
        sa.Column("outcome", sa.String(length=20), nullable=False),
        sa.Column("context", sa.JSON(), nullable=True),
        sa.Column("context_missing", sa.Boolean(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["call_id"], ["calls.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("call_id", "n"),
    )
    op.create_index("ix_transfers_call_id", "transfers", ["call_id"])
    op.create_table(
        "call_contexts",
        sa.Column("linkedid", sa.String(length=64), nullable=False),
        sa.Column("uin", sa.String(length=20), nullable=True),
        sa.Column("ticket_id", sa.Integer(), nullable=True),
        sa.Column("caller_full_name", sa.String(length=200), nullable=True),
        sa.Column("org_inn", sa.String(length=12), nullable=True),
        sa.Column("summary", sa.Text(), nullable=True),
        sa.Column("transfer_count", sa.Integer(), nullable=False),
        sa.Column("chain", sa.JSON(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("linkedid"),
    )


def downgrade() -> None:
    op.drop_table("call_contexts")
    op.drop_index("ix_transfers_call_id", table_name="transfers")
    op.drop_table("transfers")
