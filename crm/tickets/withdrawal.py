"""Withdrawing a UIN: the IVR gave a caller a new request, then they named their existing one.

The new ticket is not deleted (its UIN was spoken; UINs are never reused) but withdrawn: a
final status that keeps it out of the lists and the SLA work, `withdrawn_into` naming the
request the call went to, an audit row on both tickets. The call (and every link to it)
moves to that request. Repeating the same withdrawal changes nothing (the AGI server's
retry after a lost reply).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from crm.errors import Conflict, TicketNotFound
from crm.models import Call, CallTicket, Status, Ticket, TicketEvent
from crm.rules import check_transition
from crm.tickets.audit import received_withdrawn_row, withdrawn_row
from crm.tickets.checks import InvalidField
from crm.tickets.queries import Sessions, load_ticket


class AlreadyWithdrawn(Conflict):
    def __init__(self, uin: str, into: str) -> None:
        super().__init__(f"ticket {uin} is already withdrawn into {into}")


async def withdraw(
    sessions: Sessions, uin: str, into: str, reason: str, actor: str, now: datetime
) -> Ticket:
    """Withdraw ticket `uin` into ticket `into`; returns the withdrawn ticket."""
    if into == uin:
        raise InvalidField("into", "a ticket cannot be withdrawn into itself")
    async with sessions.begin() as session:
        ticket = await load_ticket(session, uin, lock=True)
        if ticket.status is Status.withdrawn:
            if ticket.withdrawn_into == into:
                return ticket  # done already: a retry
            raise AlreadyWithdrawn(uin, ticket.withdrawn_into or "?")
        try:
            target = await load_ticket(session, into)
        except TicketNotFound:
            raise InvalidField("into", f"no ticket with UIN {into}") from None
        if target.status is Status.withdrawn:
            raise InvalidField(
                "into", f"ticket {into} is itself withdrawn into {target.withdrawn_into}"
            )
        check_transition(ticket.status, Status.withdrawn)
        ticket.status, ticket.withdrawn_into, ticket.updated_at = Status.withdrawn, into, now
        session.add(TicketEvent(ticket_id=ticket.id, **withdrawn_row(into, reason, now, actor)))
        session.add(
            TicketEvent(ticket_id=target.id, **received_withdrawn_row(uin, reason, now, actor))
        )
        await _move_calls(session, ticket.id, target.id, now)
    return ticket


async def _move_calls(session: AsyncSession, from_id: int, to_id: int, now: datetime) -> None:
    """The calls of the withdrawn ticket belong to the receiving one from now on."""
    await session.execute(update(Call).where(Call.ticket_id == from_id).values(ticket_id=to_id))
    linked = (
        await session.scalars(select(CallTicket.call_id).where(CallTicket.ticket_id == from_id))
    ).all()
    present = set(
        (
            await session.scalars(
                select(CallTicket.call_id).where(
                    CallTicket.ticket_id == to_id, CallTicket.call_id.in_(linked)
                )
            )
        ).all()
    )
    await session.execute(delete(CallTicket).where(CallTicket.ticket_id == from_id))
    missing = [c for c in linked if c not in present]
    if missing:
        await session.execute(
            insert(CallTicket),
            [{"call_id": c, "ticket_id": to_id, "linked_at": now} for c in missing],
        )
