"""withdrawn tickets: the IVR's UIN of a caller who named an existing request

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06 21:20:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BEFORE = ("registered", "in_progress", "suspended", "resolved", "closed", "refused")
_AFTER = (*_BEFORE, "withdrawn")


def _status_check(values: tuple[str, ...]) -> str:
    return "status IN (" + ", ".join(f"'{v}'" for v in values) + ")"


def upgrade() -> None:
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.drop_constraint("ticket_status", type_="check")
        batch_op.create_check_constraint("ticket_status", _status_check(_AFTER))
        batch_op.add_column(sa.Column("withdrawn_into", sa.String(length=20), nullable=True))
        batch_op.create_foreign_key(
            "fk_tickets_withdrawn_into", "tickets", ["withdrawn_into"], ["uin"]
        )


def downgrade() -> None:
    # A withdrawn ticket has no status before this revision: it goes back to registered.
    op.execute("UPDATE tickets SET status = 'registered' WHERE status = 'withdrawn'")
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.drop_constraint("fk_tickets_withdrawn_into", type_="foreignkey")
        batch_op.drop_column("withdrawn_into")
        batch_op.drop_constraint("ticket_status", type_="check")
        batch_op.create_check_constraint("ticket_status", _status_check(_BEFORE))
