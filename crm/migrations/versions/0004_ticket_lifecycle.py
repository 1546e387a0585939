"""Ticket lifecycle: SLA fields, calls with several tickets, calendar overrides, outbox

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22 02:36:09.868463
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "calendar_overrides",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "holiday",
                "working_day",
                name="override_kind",
                native_enum=False,
                create_constraint=True,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("note", sa.String(length=300), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(length=80), nullable=False),
        sa.PrimaryKeyConstraint("day"),
    )
    op.create_table(
        "notifications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("to_addr", sa.String(length=254), nullable=True),
        sa.Column("subject", sa.String(length=300), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["tickets.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_notifications_sent_at"), ["sent_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_notifications_ticket_id"), ["ticket_id"], unique=False)

    op.create_table(
        "call_tickets",
        sa.Column("call_id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("linked_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["call_id"],
            ["calls.id"],
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["tickets.id"],
        ),
        sa.PrimaryKeyConstraint("call_id", "ticket_id"),
    )
    with op.batch_alter_table("call_tickets", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_call_tickets_ticket_id"), ["ticket_id"], unique=False)

    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.add_column(sa.Column("line", sa.Integer(), server_default="1", nullable=False))
        batch_op.add_column(sa.Column("caller_email", sa.String(length=254), nullable=True))
        batch_op.add_column(sa.Column("solution", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("agreed_deadline", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(
            sa.Column(
                "refusal_reason",
                sa.Enum(
                    "out_of_scope",
                    "duplicate",
                    "no_information",
                    name="refusal_reason",
                    native_enum=False,
                    create_constraint=True,
                    length=20,
                ),
                nullable=True,
            )
        )

    # Calls already on a ticket keep it in the link table (one call, several tickets).
    op.execute(
        "INSERT INTO call_tickets (call_id, ticket_id, linked_at) "
        "SELECT id, ticket_id, CURRENT_TIMESTAMP FROM calls WHERE ticket_id IS NOT NULL"
    )


def downgrade() -> None:
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        # SQLite rebuilds the table: the enum's CHECK must go before its column.
        batch_op.drop_constraint("refusal_reason", type_="check")
        batch_op.drop_column("refusal_reason")
        batch_op.drop_column("confirmed_at")
        batch_op.drop_column("resolved_at")
        batch_op.drop_column("agreed_deadline")
        batch_op.drop_column("solution")
        batch_op.drop_column("caller_email")
        batch_op.drop_column("line")

    with op.batch_alter_table("call_tickets", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_call_tickets_ticket_id"))

    op.drop_table("call_tickets")
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_notifications_ticket_id"))
        batch_op.drop_index(batch_op.f("ix_notifications_sent_at"))

    op.drop_table("notifications")
    op.drop_table("calendar_overrides")
