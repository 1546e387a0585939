"""transfer tries refused at the limit, on the CRM's copy of the call context

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-22 06:25:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("call_contexts", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("transfers_refused", sa.Integer(), server_default="0", nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("call_contexts", schema=None) as batch_op:
        batch_op.drop_column("transfers_refused")
