"""The recorder's call rows: one found and locked (or created), and linked to its ticket."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from crm.models import Call, CallOutcome
from crm.recorder.prefetch import ticket_id_of


def new_call(linkedid: str) -> Call:
    """The row of a call the recorder meets for the first time."""
    return Call(linkedid=linkedid, outcome=CallOutcome.in_progress, transfer_count=0)


async def lock_call(session: AsyncSession, linkedid: str) -> Call:
    """The call, locked for this transaction; created (with its id) when it is new."""
    call = (
        await session.execute(select(Call).where(Call.linkedid == linkedid).with_for_update())
    ).scalar_one_or_none()
    if call is None:
        call = new_call(linkedid)
        session.add(call)
        await session.flush()
    return call


async def link_ticket(session: AsyncSession, call: Call) -> bool:
    """Point the call at the ticket of the UIN it was told, if that ticket exists yet;
    True when the call has a ticket."""
    if call.ticket_id is not None or call.announced_uin is None:
        return call.ticket_id is not None
    call.ticket_id = await ticket_id_of(session, call.announced_uin)
    return call.ticket_id is not None
