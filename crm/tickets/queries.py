"""Reads of tickets and calls: one ticket, a filtered page, a call and its tickets, a log."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from crm.errors import CallNotFound, TicketNotFound
from crm.models import Call, CallTicket, Category, Status, Ticket, TicketEvent

Sessions = async_sessionmaker[AsyncSession]


@dataclass(frozen=True)
class TicketFilter:
    phone: str | None = None
    status: Status | None = None
    category: Category | None = None
    text: str | None = None
    # The canonical UIN `text` may be typed as (the short form "208"), when it can be one.
    text_uin: str | None = None
    # One search box (`q`): a UIN, a phone number or words, whichever it can be.
    q: str | None = None
    q_uin: str | None = None
    q_phone: str | None = None


async def load_ticket(session: AsyncSession, uin: str, *, lock: bool = False) -> Ticket:
    """The ticket of `uin` in `session` (row-locked with `lock`), or `TicketNotFound`."""
    query = select(Ticket).where(Ticket.uin == uin)
    if lock:
        query = query.with_for_update()
    ticket = (await session.execute(query)).scalar_one_or_none()
    if ticket is None:
        raise TicketNotFound(uin)
    return ticket


async def get_ticket(sessions: Sessions, uin: str) -> Ticket:
    async with sessions() as session:
        return await load_ticket(session, uin)


async def list_tickets(
    sessions: Sessions, filters: TicketFilter, page: int, page_size: int
) -> tuple[Sequence[Ticket], int]:
    """One page of the tickets that match, newest first, and how many match in all.

    `filters.phone` is compared as given: the caller normalises it.
    """
    query = select(Ticket)
    if filters.status is not Status.withdrawn:
        # A withdrawn UIN is no request: listed (and counted) only when asked for by status.
        query = query.where(Ticket.status != Status.withdrawn)
    if filters.phone:
        query = query.where(Ticket.caller_phone == filters.phone)
    if filters.status:
        query = query.where(Ticket.status == filters.status)
    if filters.category:
        query = query.where(Ticket.category == filters.category)
    if filters.text:
        pattern = f"%{filters.text}%"
        query = query.where(
            or_(
                Ticket.uin.in_([filters.text, filters.text_uin or filters.text]),
                Ticket.summary.ilike(pattern),
                Ticket.description.ilike(pattern),
                Ticket.caller_name.ilike(pattern),
                Ticket.org_name.ilike(pattern),
                Ticket.org_inn == filters.text,
            )
        )
    if filters.q:
        pattern = f"%{filters.q}%"
        # The UIN and the phone are exact matches on unique/indexed columns; the words
        # are a scan of the (newest first) page's candidates, as `text` is.
        query = query.where(
            or_(
                Ticket.uin.in_([filters.q, filters.q_uin or filters.q]),
                Ticket.caller_phone == (filters.q_phone or filters.q),
                Ticket.org_inn == filters.q,
                Ticket.summary.ilike(pattern),
                Ticket.description.ilike(pattern),
                Ticket.caller_name.ilike(pattern),
                Ticket.org_name.ilike(pattern),
            )
        )
    page_query = query.order_by(Ticket.id.desc()).offset((page - 1) * page_size).limit(page_size)
    async with sessions() as session:
        total = (
            await session.execute(select(func.count()).select_from(query.subquery()))
        ).scalar_one()
        rows = (await session.execute(page_query)).scalars().all()
    return rows, total


async def get_call(sessions: Sessions, linkedid: str) -> tuple[Call, str | None]:
    """The call and the UIN of its ticket (None while it has none)."""
    async with sessions() as session:
        row = (
            await session.execute(
                select(Call, Ticket.uin)
                .outerjoin(Ticket, Call.ticket_id == Ticket.id)
                .where(Call.linkedid == linkedid)
            )
        ).one_or_none()
    if row is None:
        raise CallNotFound(linkedid)
    call, uin = row
    return call, uin


async def call_uins(sessions: Sessions, call: Call) -> list[str]:
    """UINs of every ticket opened in the call, in order of registration.

    The call's own `ticket_id` counts too: the recorder sets it without a link row.
    """
    linked = select(CallTicket.ticket_id).where(CallTicket.call_id == call.id)
    async with sessions() as session:
        result = await session.execute(
            select(Ticket.uin)
            .where(or_(Ticket.id == call.ticket_id, Ticket.id.in_(linked)))
            .order_by(Ticket.id)
        )
        return list(result.scalars())


async def ticket_events(sessions: Sessions, uin: str) -> Sequence[TicketEvent]:
    """The ticket's audit log, oldest first."""
    async with sessions() as session:
        ticket = await load_ticket(session, uin)
        result = await session.execute(
            select(TicketEvent).where(TicketEvent.ticket_id == ticket.id).order_by(TicketEvent.id)
        )
        return result.scalars().all()
