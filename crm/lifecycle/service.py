"""What agents and callers do to a ticket's lifecycle; each step is one audited transaction.

Suspend and resume (Table 5), resolve (solution + e-mail with a confirmation link),
refuse (out of scope, duplicate), ask the caller for information by e-mail and take
their reply, confirm over the link, and read the SLA clock from the audit log.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.settings import LifecycleSettings
from crm.errors import TicketNotFound
from crm.lifecycle import audit, mail
from crm.lifecycle.calendar import CalendarStore
from crm.lifecycle.errors import LinkUsed, WrongState
from crm.lifecycle.tokens import ConfirmationTokens
from crm.models import Notification, RefusalReason, Status, Ticket, TicketEvent
from crm.rules import OPEN, check_transition
from crm.schemas import RefuseRequest, SuspendRequest
from crm.service import Clock, InvalidField
from crm.sla import SlaClock, SuspendReason


def event(
    ticket: Ticket,
    at: datetime,
    actor: str,
    action: str,
    field: str | None = None,
    old: str | None = None,
    new: str | None = None,
    data: dict[str, Any] | None = None,
) -> TicketEvent:
    return TicketEvent(
        ticket_id=ticket.id,
        at=at,
        actor=actor,
        action=action,
        field=field,
        old_value=old,
        new_value=new,
        data=data,
    )


def move(
    session: AsyncSession,
    ticket: Ticket,
    new: Status,
    at: datetime,
    actor: str,
    data: dict[str, Any] | None = None,
) -> None:
    """Change the status under the rules and write its `status_changed` row."""
    check_transition(ticket.status, new)
    old = ticket.status
    ticket.status, ticket.updated_at = new, at
    session.add(event(ticket, at, actor, "status_changed", "status", old.value, new.value, data))


def outbox(
    session: AsyncSession,
    ticket: Ticket,
    kind: str,
    to_addr: str | None,
    m: mail.Mail,
    at: datetime,
) -> None:
    session.add(
        Notification(
            ticket_id=ticket.id,
            kind=kind,
            to_addr=to_addr,
            subject=m.subject,
            body=m.body,
            created_at=at,
            next_attempt_at=at,
        )
    )


def confirm_link(settings: LifecycleSettings, token: str) -> str:
    return f"{settings.public_url.rstrip('/')}/api/confirm/{token}"


class LifecycleService:
    """The lifecycle steps over one session factory; `clock` gives "now" (injectable)."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        settings: LifecycleSettings,
        calendars: CalendarStore,
        tokens: ConfirmationTokens,
        clock: Clock,
    ) -> None:
        self._sessions = sessions
        self.settings = settings
        self.calendars = calendars
        self.tokens = tokens
        self.clock = clock

    async def _locked(self, session: AsyncSession, uin: str) -> Ticket:
        query = select(Ticket).where(Ticket.uin == uin).with_for_update()
        ticket = (await session.execute(query)).scalar_one_or_none()
        if ticket is None:
            raise TicketNotFound(uin)
        return ticket

    async def suspend(self, uin: str, body: SuspendRequest, actor: str) -> Ticket:
        """Stop the clock for a Table 5 reason; a suspended ticket may change its reason."""
        if body.reason is SuspendReason.external_system and not body.external_ref:
            raise InvalidField(
                "external_ref",
                "a suspension for an external system needs the external ticket's reference",
            )
        now = self.clock()
        async with self._sessions.begin() as session:
            ticket = await self._locked(session, uin)
            if ticket.status not in OPEN:
                raise WrongState(f"ticket {uin} is {ticket.status.value}: it cannot be suspended")
            data = {
                "reason": body.reason.value,
                "note": body.note,
                "external_ref": body.external_ref,
            }
            move(session, ticket, Status.suspended, now, actor, data)
        return ticket

    async def resume(self, uin: str, actor: str, via: str = "api") -> Ticket:
        now = self.clock()
        async with self._sessions.begin() as session:
            ticket = await self._locked(session, uin)
            if ticket.status is not Status.suspended:
                raise WrongState(f"ticket {uin} is {ticket.status.value}, not suspended")
            move(session, ticket, Status.in_progress, now, actor, {"via": via})
        return ticket

    async def resolve(self, uin: str, solution: str, actor: str) -> Ticket:
        """Record the solution; the caller gets it by e-mail today with a confirmation link."""
        now = self.clock()
        async with self._sessions.begin() as session:
            ticket = await self._locked(session, uin)
            check_transition(ticket.status, Status.resolved)
            token = None
            if ticket.caller_email:
                token = self.tokens.issue(uin, now, now)  # refuses without a secret key
            move(session, ticket, Status.resolved, now, actor, {"solution": solution})
            ticket.solution, ticket.resolved_at, ticket.confirmed_at = solution, now, None
            if token is not None:
                m = mail.solution_mail(uin, solution, confirm_link(self.settings, token))
                outbox(session, ticket, audit.KIND_SOLUTION, ticket.caller_email, m, now)
        return ticket

    async def refuse(self, uin: str, body: RefuseRequest, actor: str) -> Ticket:
        """Refuse with a reason; a duplicate names its solved original and carries its solution."""
        if body.reason is RefusalReason.no_information:
            raise InvalidField(
                "reason",
                "no_information is decided by the worker: 14 business days after at least two "
                "requests by e-mail (POST .../info-requests)",
            )
        if body.reason is RefusalReason.duplicate and not body.duplicate_of:
            raise InvalidField("duplicate_of", "a duplicate must name the original ticket's UIN")
        if body.reason is not RefusalReason.duplicate and body.duplicate_of:
            raise InvalidField("duplicate_of", "only a duplicate names an original ticket")
        now = self.clock()
        async with self._sessions.begin() as session:
            ticket = await self._locked(session, uin)
            check_transition(ticket.status, Status.refused)
            solution = None
            if body.duplicate_of is not None:
                solution = await self._original_solution(session, uin, body.duplicate_of)
                ticket.duplicate_of, ticket.solution = body.duplicate_of, solution
            data = {
                "reason": body.reason.value,
                "note": body.note,
                "duplicate_of": body.duplicate_of,
            }
            move(session, ticket, Status.refused, now, actor, data)
            ticket.refusal_reason = body.reason
            if ticket.caller_email:
                m = mail.refusal_mail(uin, body.reason.value, body.note, solution)
                outbox(session, ticket, audit.KIND_REFUSAL, ticket.caller_email, m, now)
        return ticket

    async def _original_solution(self, session: AsyncSession, uin: str, original: str) -> str:
        if original == uin:
            raise InvalidField("duplicate_of", "a ticket cannot duplicate itself")
        found = (
            await session.execute(select(Ticket).where(Ticket.uin == original))
        ).scalar_one_or_none()
        if found is None:
            raise TicketNotFound(original)
        if found.status not in (Status.resolved, Status.closed) or not found.solution:
            raise InvalidField(
                "duplicate_of",
                f"the original {original} is {found.status.value} without a solution; "
                "a duplicate must carry the original's solution",
            )
        return found.solution

    async def request_info(self, uin: str, question: str, actor: str) -> Ticket:
        """E-mail the caller a question; the ticket waits (suspended, more_information)."""
        now = self.clock()
        async with self._sessions.begin() as session:
            ticket = await self._locked(session, uin)
            if not ticket.caller_email:
                raise InvalidField(
                    "caller_email", f"ticket {uin} has no caller e-mail to send the request to"
                )
            rows = await audit.audit_rows(session, ticket.id)
            waiting = audit.waiting_for_information(rows)
            if waiting is None:
                if ticket.status is Status.suspended or ticket.status not in OPEN:
                    raise WrongState(
                        f"ticket {uin} is {ticket.status.value}"
                        + (" for another reason" if ticket.status is Status.suspended else "")
                        + ": requests for information are for tickets in work"
                    )
                data = {"reason": SuspendReason.more_information.value, "note": question}
                move(session, ticket, Status.suspended, now, actor, data)
                number = 1
            else:
                number = len(audit.rows_after(rows, waiting, audit.INFO_REQUESTED)) + 1
            record_info_request(session, ticket, question, number, now, actor)
        return ticket

    async def caller_replied(self, uin: str, note: str | None, actor: str) -> Ticket:
        """The caller answered a request for information: the clock runs again."""
        now = self.clock()
        async with self._sessions.begin() as session:
            ticket = await self._locked(session, uin)
            rows = await audit.audit_rows(session, ticket.id)
            if audit.waiting_for_information(rows) is None:
                raise WrongState(f"ticket {uin} is not waiting for information from the caller")
            session.add(event(ticket, now, actor, audit.CALLER_REPLIED, data={"note": note}))
            move(session, ticket, Status.in_progress, now, actor, {"via": "caller_replied"})
        return ticket

    async def confirm(self, token: str) -> Ticket:
        """The caller confirms the solution over the e-mailed link: the ticket is closed."""
        now = self.clock()
        uin, resolved_at = self.tokens.read(token, now)
        async with self._sessions.begin() as session:
            ticket = await self._locked(session, uin)
            if ticket.status is not Status.resolved or ticket.resolved_at != resolved_at:
                raise LinkUsed(uin, ticket.status.value)
            move(session, ticket, Status.closed, now, "caller", {"via": "confirmation_link"})
            ticket.confirmed_at = now
        return ticket

    async def confirm_with_caller(self, uin: str, note: str, actor: str) -> Ticket:
        """The regulation's other way: the contractor confirms in agreement with the user.

        For callers with no e-mail (most phone callers), who never get a link."""
        now = self.clock()
        async with self._sessions.begin() as session:
            ticket = await self._locked(session, uin)
            if ticket.status is not Status.resolved:
                raise WrongState(f"ticket {uin} is {ticket.status.value}, not resolved")
            agreed = {"via": "agreed_with_caller", "note": note}
            move(session, ticket, Status.closed, now, actor, agreed)
            ticket.confirmed_at = now
        return ticket

    async def sla(self, uin: str) -> SlaClock:
        now = self.clock()
        async with self._sessions() as session:
            ticket = (
                await session.execute(select(Ticket.id).where(Ticket.uin == uin))
            ).scalar_one_or_none()
            if ticket is None:
                raise TicketNotFound(uin)
            calendar = await self.calendars.calendar(session)
            rows = await audit.audit_rows(session, ticket)
        return audit.clock_from(rows, calendar, now)

    async def at_risk(self) -> list[tuple[Ticket, SlaClock]]:
        """Open tickets past the escalation share or breached, most used first."""
        now = self.clock()
        async with self._sessions() as session:
            calendar = await self.calendars.calendar(session)
            tickets = (
                (await session.execute(select(Ticket).where(Ticket.status.in_(OPEN))))
                .scalars()
                .all()
            )
            by_ticket: dict[int, list[TicketEvent]] = {t.id: [] for t in tickets}
            rows = await session.execute(
                select(TicketEvent)
                .where(TicketEvent.ticket_id.in_(list(by_ticket)))
                .order_by(TicketEvent.id)
            )
            for row in rows.scalars():
                by_ticket[row.ticket_id].append(row)
        found = []
        for ticket in tickets:
            clock = audit.clock_from(by_ticket[ticket.id], calendar, now)
            share = clock.used_share
            if clock.breached or (share is not None and share >= self.settings.escalation_share):
                found.append((ticket, clock))
        found.sort(key=lambda pair: -(pair[1].used_share or 0))
        return found


def record_info_request(
    session: AsyncSession, ticket: Ticket, question: str, number: int, at: datetime, actor: str
) -> None:
    """The audit row of request `number` and its e-mail, in the caller's transaction."""
    data = {"n": number, "question": question}
    session.add(event(ticket, at, actor, audit.INFO_REQUESTED, data=data))
    m = mail.info_request_mail(ticket.uin, question, number)
    outbox(session, ticket, audit.KIND_INFO_REQUEST, ticket.caller_email, m, at)
