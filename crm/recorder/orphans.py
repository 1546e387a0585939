"""Calls that never got a ticket: linked once their announced ticket exists, or given one
of their own after waiting too long for their `ticketed` fact, so every call ends on a
ticket."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from crm.models import Call, CallOutcome, Ticket
from crm.recorder.calls import link_ticket, lock_call
from crm.recorder.stats import RecorderStats
from crm.schemas import TicketCreate
from crm.service import TicketService
from crm.validation import normalise_phone


async def settle_orphans(
    sessions: async_sessionmaker[AsyncSession],
    tickets: TicketService,
    *,
    cutoff: datetime,
    stats: RecorderStats,
) -> int:
    """Link calls to tickets that now exist; give a ticket to calls not seen since before
    `cutoff`. Returns how many calls got a ticket."""
    settled = 0
    for linkedid, announced, started_at, ended_at in await _without_ticket(sessions):
        if announced is not None:
            async with sessions.begin() as session:
                settled += await link_ticket(session, await lock_call(session, linkedid))
            continue
        seen = started_at or ended_at
        if seen is not None and seen > cutoff:
            continue
        if await _give_ticket(sessions, tickets, linkedid):
            settled += 1
            stats.orphans_ticketed += 1
    return settled


async def _without_ticket(sessions: async_sessionmaker[AsyncSession]) -> Sequence[Any]:
    """(linkedid, announced UIN, started, ended) of the calls with no ticket yet."""
    async with sessions() as session:
        return (
            await session.execute(
                select(Call.linkedid, Call.announced_uin, Call.started_at, Call.ended_at).where(
                    Call.ticket_id.is_(None),
                    # Out of hours there is no intake (Table 4): no ticket is made for it.
                    Call.outcome != CallOutcome.out_of_hours,
                )
            )
        ).all()


async def _give_ticket(
    sessions: async_sessionmaker[AsyncSession], tickets: TicketService, linkedid: str
) -> bool:
    """Register a ticket for a call that waited too long; False when the call has one by
    then (from another recorder, or from its `ticketed` fact after all)."""
    async with sessions.begin() as session:
        call = await lock_call(session, linkedid)
        if call.ticket_id is not None:
            return False
        number, name = call.caller_number, call.caller_name
    try:
        phone = normalise_phone(number, tickets.phone_region) if number else None
    except ValueError:
        phone = None  # an extension or "anonymous": kept in the description
    ticket = await tickets.register_ticket(
        TicketCreate(
            channel="phone",
            caller_name=name,
            caller_phone=phone,
            summary="Call without a ticket from the IVR (registered by the recorder)",
            description=f"caller number as received: {number}" if number else None,
        ),
        "recorder",
    )
    async with sessions.begin() as session:
        call = await lock_call(session, linkedid)
        if call.ticket_id is not None:
            return False
        call.ticket_id = (
            await session.execute(select(Ticket.id).where(Ticket.uin == ticket.uin))
        ).scalar_one()
    return True
