"""Changes to a ticket: a PATCH of its fields under the rules, and a call recorded on it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from core.caller_id import later_wins
from crm.errors import CallOnAnotherTicket
from crm.models import Call, CallTicket, Status, Ticket, TicketEvent
from crm.rules import LIFECYCLE_ENDPOINTS, check_classification, check_transition
from crm.schemas import CallAttach
from crm.tickets.audit import call_attached_row, change_row
from crm.tickets.checks import InvalidField, check_agreed_deadline
from crm.tickets.queries import Sessions, get_call, load_ticket

# A call's caller ID as the API is given it: `<unknown>` never replaces a real one.
CALLER_ID = ("caller_number", "caller_name")
# Fields a PATCH cannot empty: a null there means "leave it".
_REQUIRED = ("category", "priority", "status")


def check_not_a_lifecycle_move(uin: str, changes: dict[str, Any]) -> None:
    """A status with data of its own is reached through its endpoint, never by a PATCH."""
    new_status = changes.get("status")
    if new_status in LIFECYCLE_ENDPOINTS:
        raise InvalidField(
            "status",
            f"a ticket becomes {new_status.value} through "
            f"POST /api/tickets/{uin}/{LIFECYCLE_ENDPOINTS[new_status]}, not PATCH",
        )


async def _check_changes(
    session: AsyncSession, ticket: Ticket, changes: dict[str, Any], now: datetime
) -> None:
    if "status" in changes and changes["status"] is not None:
        check_transition(ticket.status, changes["status"])
    category = changes.get("category") or ticket.category
    priority = changes.get("priority") or ticket.priority
    if "category" in changes or "priority" in changes:
        check_classification(category, priority)
    if changes.get("agreed_deadline") is not None:
        check_agreed_deadline(priority, changes["agreed_deadline"], now)
    if changes.get("duplicate_of") is not None:
        if changes["duplicate_of"] == ticket.uin:
            raise InvalidField("duplicate_of", "a ticket cannot duplicate itself")
        await load_ticket(session, changes["duplicate_of"])


async def update_ticket(
    sessions: Sessions, uin: str, changes: dict[str, Any], actor: str, now: datetime
) -> Ticket:
    """Apply `changes` (the fields a PATCH set, phone normalised) with an audit row each."""
    async with sessions.begin() as session:
        ticket = await load_ticket(session, uin, lock=True)
        await _check_changes(session, ticket, changes, now)
        for field, new in changes.items():
            if new is None and field in _REQUIRED:
                continue
            old = getattr(ticket, field)
            if old == new:
                continue
            setattr(ticket, field, new)
            ticket.updated_at = now
            session.add(TicketEvent(ticket_id=ticket.id, **change_row(field, old, new, now, actor)))
            if field == "status" and new is Status.closed:
                # Closed by staff "in agreement with the user": that is the confirmation.
                ticket.confirmed_at = now
    return ticket


async def attach_call(
    sessions: Sessions, uin: str, data: CallAttach, actor: str, now: datetime
) -> tuple[Call, bool]:
    """Record call `data.linkedid` on ticket `uin`; returns (call, created)."""
    try:
        async with sessions.begin() as session:
            ticket = await load_ticket(session, uin)
            call = (
                await session.execute(
                    select(Call).where(Call.linkedid == data.linkedid).with_for_update()
                )
            ).scalar_one_or_none()
            created = call is None
            if call is None:
                call = Call(linkedid=data.linkedid)
                session.add(call)
            elif call.ticket_id not in (None, ticket.id):
                other = await session.get(Ticket, call.ticket_id)
                raise CallOnAnotherTicket(data.linkedid, other.uin if other else "?")
            newly_attached = call.ticket_id != ticket.id
            call.ticket_id = ticket.id
            if newly_attached:
                await session.flush()  # the call needs its id for the link row
                session.add(CallTicket(call_id=call.id, ticket_id=ticket.id, linked_at=now))
            for field, value in data.model_dump(exclude_unset=True).items():
                if field in CALLER_ID:
                    value = later_wins(getattr(call, field), value) or None  # never <unknown>
                if field != "linkedid" and value is not None:
                    setattr(call, field, value)
            if newly_attached:
                row = call_attached_row(data.linkedid, now, actor)
                session.add(TicketEvent(ticket_id=ticket.id, **row))
    except IntegrityError:
        # Two attaches of the same new call raced: the other one won; read its result.
        call, _uin = await get_call(sessions, data.linkedid)
        return call, False
    return call, created
