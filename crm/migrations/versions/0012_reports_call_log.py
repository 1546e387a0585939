"""indexes of the reports: the service-level history's covering index; the call log's
(newest first, by caller number, by UIN heard, by agent)

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06 21:20:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("calls", schema=None) as batch_op:
        batch_op.create_index("ix_calls_started_at_id", ["started_at", "id"], unique=False)
        batch_op.create_index(batch_op.f("ix_calls_caller_number"), ["caller_number"])
        batch_op.create_index(batch_op.f("ix_calls_announced_uin"), ["announced_uin"])
    with op.batch_alter_table("queue_entries", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_queue_entries_agent"), ["agent"], unique=False)
        batch_op.create_index(
            "ix_queue_entries_report",
            ["joined_at", "queue", "outcome", "wait_s", "wait_whole_s", "completed_at"],
            unique=False,
        )
        batch_op.drop_index("ix_queue_entries_joined_at")


def downgrade() -> None:
    with op.batch_alter_table("queue_entries", schema=None) as batch_op:
        batch_op.create_index("ix_queue_entries_joined_at", ["joined_at"], unique=False)
        batch_op.drop_index("ix_queue_entries_report")
        batch_op.drop_index(batch_op.f("ix_queue_entries_agent"))
    with op.batch_alter_table("calls", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_calls_announced_uin"))
        batch_op.drop_index(batch_op.f("ix_calls_caller_number"))
        batch_op.drop_index("ix_calls_started_at_id")
