"""The worker's decisions about one ticket, made under its row lock from its audit log.

Each job reads what was already decided (audit rows) before deciding again, and writes
its decision (audit row) together with its e-mail (outbox row) in the caller's
transaction: a decision taken once is never taken twice, however many workers run.
Each returns what it did (a name for the report) or None.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from core.settings import LifecycleSettings
from crm.lifecycle import audit, mail
from crm.lifecycle.service import confirm_link, event, move, outbox, record_info_request
from crm.lifecycle.tokens import ConfirmationTokens
from crm.models import RefusalReason, Status, Ticket, TicketEvent
from crm.sla import BusinessCalendar, escalation_due

WORKER = "worker"


@dataclass(frozen=True)
class JobContext:
    settings: LifecycleSettings
    calendar: BusinessCalendar
    tokens: ConfirmationTokens
    now: datetime

    def business_days(self, since: datetime) -> float:
        return self.calendar.elapsed(since, self.now) / self.calendar.standard_day_s


async def escalate(
    session: AsyncSession, ticket: Ticket, rows: Sequence[TicketEvent], ctx: JobContext
) -> str | None:
    """Move the ticket to the line its used share calls for (1 -> 2 -> 3), before the deadline."""
    clock = audit.clock_from(rows, ctx.calendar, ctx.now)
    due = escalation_due(clock, ctx.settings.escalation_share)
    if due <= ticket.line:
        return None
    old, ticket.line, ticket.updated_at = ticket.line, due, ctx.now
    deadline = clock.deadline.isoformat() if clock.deadline else None
    data = {"used_share": clock.used_share, "deadline": deadline}
    session.add(event(ticket, ctx.now, WORKER, audit.ESCALATED, "line", str(old), str(due), data))
    addresses = {2: ctx.settings.escalation_line2_email, 3: ctx.settings.escalation_line3_email}
    m = mail.escalation_mail(ticket.uin, due, clock.used_share or 0.0, deadline)
    outbox(session, ticket, audit.KIND_ESCALATION, addresses[due] or None, m, ctx.now)
    return "escalated"


async def chase_information(
    session: AsyncSession, ticket: Ticket, rows: Sequence[TicketEvent], ctx: JobContext
) -> str | None:
    """Second request at `info_reminder_days`; refusal at `info_refusal_days` after 2 sent."""
    waiting = audit.waiting_for_information(rows)
    if waiting is None:
        return None
    requests = audit.rows_after(rows, waiting, audit.INFO_REQUESTED)
    if not requests:
        return None  # suspended for information but never asked by e-mail: nothing to count
    first = requests[0]
    days = ctx.business_days(first.at)
    if days >= ctx.settings.info_refusal_days:
        sent = await audit.sent_count(session, ticket.id, audit.KIND_INFO_REQUEST, first.at)
        if sent >= 2:
            reason = RefusalReason.no_information
            data = {"reason": reason.value, "note": None, "requests_sent": sent}
            move(session, ticket, Status.refused, ctx.now, WORKER, data)
            ticket.refusal_reason = reason
            m = mail.refusal_mail(ticket.uin, reason.value, None, None)
            outbox(session, ticket, audit.KIND_REFUSAL, ticket.caller_email, m, ctx.now)
            return "refused"
    if days >= ctx.settings.info_reminder_days and len(requests) < 2:
        question = (first.data or {}).get("question") or ""
        record_info_request(session, ticket, question, len(requests) + 1, ctx.now, WORKER)
        return "info_requested"
    return None


async def chase_confirmation(
    session: AsyncSession, ticket: Ticket, rows: Sequence[TicketEvent], ctx: JobContext
) -> str | None:
    """Reminders at `confirm_reminder1/2_days`; closure at `confirm_close_days` after 2 sent."""
    resolution = audit.last_status_row(rows, Status.resolved.value)
    if resolution is None or not ticket.caller_email or ticket.resolved_at is None:
        return None
    reminders = audit.rows_after(rows, resolution, audit.CONFIRM_REMINDER)
    days = ctx.business_days(resolution.at)
    if days >= ctx.settings.confirm_close_days:
        sent = await audit.sent_count(
            session, ticket.id, audit.KIND_CONFIRM_REMINDER, resolution.at
        )
        if sent >= 2:
            data = {"via": "unconfirmed", "reminders_sent": sent}
            move(session, ticket, Status.closed, ctx.now, WORKER, data)
            return "closed"
    thresholds = (ctx.settings.confirm_reminder1_days, ctx.settings.confirm_reminder2_days)
    number = len(reminders) + 1
    if number <= len(thresholds) and days >= thresholds[number - 1]:
        token = ctx.tokens.issue(ticket.uin, ticket.resolved_at, ctx.now)
        link = confirm_link(ctx.settings, token)
        m = mail.confirm_reminder_mail(ticket.uin, ticket.solution or "", link, number)
        session.add(event(ticket, ctx.now, WORKER, audit.CONFIRM_REMINDER, data={"n": number}))
        outbox(session, ticket, audit.KIND_CONFIRM_REMINDER, ticket.caller_email, m, ctx.now)
        return "reminded"
    return None
