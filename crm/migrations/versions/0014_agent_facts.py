"""agent facts for the agent report: sessions (logged in), pauses with reasons, rings

Revision ID: 0014
Revises: 0012
Create Date: 2026-12-07 00:20:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "agent_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("agent", sa.String(length=80), nullable=False),
        sa.Column("queue", sa.String(length=80), nullable=False),
        sa.Column("login_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("logout_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_by", sa.String(length=20), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("agent", "queue", "login_at"),
    )
    op.create_index("ix_agent_sessions_agent", "agent_sessions", ["agent"])
    op.create_index("ix_agent_sessions_span", "agent_sessions", ["login_at", "logout_at"])
    op.create_table(
        "agent_pauses",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("agent", sa.String(length=80), nullable=False),
        sa.Column("queue", sa.String(length=80), nullable=False),
        sa.Column("reason", sa.String(length=80), nullable=False),
        sa.Column("paused_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("unpaused_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_by", sa.String(length=20), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_agent_pauses_agent", "agent_pauses", ["agent"])
    op.create_index("ix_agent_pauses_span", "agent_pauses", ["paused_at", "unpaused_at"])
    op.create_table(
        "agent_rings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("agent", sa.String(length=80), nullable=False),
        sa.Column("queue", sa.String(length=80), nullable=False),
        sa.Column("linkedid", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_agent_rings_at", "agent_rings", ["at", "agent"])


def downgrade() -> None:
    op.drop_index("ix_agent_rings_at", table_name="agent_rings")
    op.drop_table("agent_rings")
    op.drop_index("ix_agent_pauses_span", table_name="agent_pauses")
    op.drop_index("ix_agent_pauses_agent", table_name="agent_pauses")
    op.drop_table("agent_pauses")
    op.drop_index("ix_agent_sessions_span", table_name="agent_sessions")
    op.drop_index("ix_agent_sessions_agent", table_name="agent_sessions")
    op.drop_table("agent_sessions")
