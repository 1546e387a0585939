"""Reading one ticket's audit log: its SLA clock and the periods the worker counts."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from crm.models import Notification, TicketEvent
from crm.sla import BusinessCalendar, SlaClock, SuspendReason, events_from_audit, sla_clock

# Audit actions this slice writes besides the CRM's `created`/`changed`/`status_changed`.
INFO_REQUESTED = "info_requested"
CALLER_REPLIED = "caller_replied"
ESCALATED = "escalated"
CONFIRM_REMINDER = "confirmation_reminder"

# Notification kinds (the outbox's `kind`).
KIND_SOLUTION = "solution"
KIND_REFUSAL = "refusal"
KIND_INFO_REQUEST = "info_request"
KIND_CONFIRM_REMINDER = "confirmation_reminder"
KIND_ESCALATION = "escalation"


async def audit_rows(session: AsyncSession, ticket_id: int) -> Sequence[TicketEvent]:
    result = await session.execute(
        select(TicketEvent).where(TicketEvent.ticket_id == ticket_id).order_by(TicketEvent.id)
    )
    return result.scalars().all()


def clock_from(rows: Sequence[TicketEvent], calendar: BusinessCalendar, now: datetime) -> SlaClock:
    return sla_clock(events_from_audit(rows), calendar, now)


def sla_dict(clock: SlaClock) -> dict[str, object]:
    """Exactly the fields of `GET /api/tickets/{uin}/sla`."""
    return {
        "deadline": clock.deadline,
        "allowance_s": clock.allowance_s,
        "elapsed_s": clock.elapsed_s,
        "remaining_s": clock.remaining_s,
        "paused": clock.paused,
        "breached": clock.breached,
        "used_share": clock.used_share,
    }


def last_status_row(rows: Sequence[TicketEvent], status: str) -> TicketEvent | None:
    """The latest `status_changed` row into `status`."""
    for row in reversed(rows):
        if row.action == "status_changed" and row.new_value == status:
            return row
    return None


def current_suspension(rows: Sequence[TicketEvent]) -> TicketEvent | None:
    """The row that suspended the ticket, if its last status change was a suspension."""
    for row in reversed(rows):
        if row.action == "status_changed":
            return row if row.new_value == "suspended" else None
    return None


def waiting_for_information(rows: Sequence[TicketEvent]) -> TicketEvent | None:
    suspension = current_suspension(rows)
    if (
        suspension is None
        or (suspension.data or {}).get("reason") != SuspendReason.more_information
    ):
        return None
    return suspension


def rows_after(rows: Sequence[TicketEvent], start: TicketEvent, action: str) -> list[TicketEvent]:
    return [r for r in rows if r.id > start.id and r.action == action]


async def sent_count(session: AsyncSession, ticket_id: int, kind: str, since: datetime) -> int:
    """E-mails of `kind` about the ticket created since `since` and actually sent."""
    result = await session.execute(
        select(func.count())
        .select_from(Notification)
        .where(
            Notification.ticket_id == ticket_id,
            Notification.kind == kind,
            Notification.created_at >= since,
            Notification.sent_at.is_not(None),
        )
    )
    return int(result.scalar_one())
