"""What the CRM does with tickets: register them with UINs, read them, change them, record calls.

Every change to a ticket writes its audit rows (`TicketEvent`) in the same transaction. The
work is done by the parts in `crm/tickets/`; this class holds what they share (the sessions,
the UIN width, the phone region, the clock) and keeps the one interface callers use.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.uin import InvalidUin, canonical_uin
from crm.models import Call, Ticket, TicketEvent, utcnow
from crm.schemas import CallAttach, TicketCreate, TicketPublic, TicketUpdate
from crm.tickets import queries, updates, withdrawal
from crm.tickets.checks import InvalidField, normalised_phone
from crm.tickets.queries import TicketFilter
from crm.tickets.registration import Registrar, registration_of
from crm.tickets.uins import reserve_uins

__all__ = ["Clock", "InvalidField", "TicketFilter", "TicketService"]

# Where "now" comes from: tests inject a fake clock to control SLA time.
Clock = Callable[[], datetime]
# A search term is tried as a phone when it has this many digits and nothing but a phone's
# characters (a short UIN such as "208" is not a phone).
PHONE_MIN_DIGITS = 7
PHONE_JUNK = re.compile(r"[^0-9+()\- ]")


class TicketService:
    """Tickets and calls over one session factory; each method is one transaction."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        uin_digits: int = 8,
        phone_region: str = "RU",
        clock: Clock = utcnow,
    ) -> None:
        self._sessions = sessions
        self.clock = clock
        self._uin_digits = uin_digits
        self.phone_region = phone_region
        self._registrar = Registrar(sessions, uin_digits)

    async def reserve_uins(self, count: int, actor: str) -> list[str]:
        """Draw `count` UINs now for tickets to be created later with `register_reserved`."""
        return await reserve_uins(self._sessions, count, actor, self._uin_digits)

    async def register_ticket(self, data: TicketCreate, actor: str) -> TicketPublic:
        """Register a ticket with a fresh UIN."""
        registration = registration_of(data, actor, self.clock, self.phone_region)
        ticket, _created = await self._registrar.register(registration)
        return ticket

    async def register_reserved(
        self, data: TicketCreate, actor: str, uin: str
    ) -> tuple[TicketPublic, bool]:
        """Register the ticket of a reserved `uin`; returns (ticket, created).

        If the ticket exists already (a retry after a lost reply), it comes back with
        created=False: registering the same reserved UIN twice never makes two tickets.
        """
        registration = registration_of(data, actor, self.clock, self.phone_region, reserved_uin=uin)
        return await self._registrar.register(registration)

    async def register_in_call(self, data: TicketCreate, actor: str, linkedid: str) -> TicketPublic:
        """Register a ticket for a new question raised in call `linkedid`, linked to it.

        One request, one ticket: the call keeps its first ticket and links every other.
        """
        registration = registration_of(
            data, actor, self.clock, self.phone_region, linkedid=linkedid
        )
        ticket, _created = await self._registrar.register(registration)
        return ticket

    async def get_ticket(self, uin: str) -> Ticket:
        return await queries.get_ticket(self._sessions, uin)

    async def list_tickets(
        self, filters: TicketFilter, page: int, page_size: int
    ) -> tuple[Sequence[Ticket], int]:
        if filters.phone:
            filters = replace(filters, phone=normalised_phone(filters.phone, self.phone_region))
        if filters.text:
            with contextlib.suppress(InvalidUin):
                filters = replace(filters, text_uin=canonical_uin(filters.text, self._uin_digits))
        if filters.q:
            filters = self._search_terms(filters)
        return await queries.list_tickets(self._sessions, filters, page, page_size)

    def _search_terms(self, filters: TicketFilter) -> TicketFilter:
        """What the one search box's `q` can be: a UIN (its short form too), a phone."""
        q = filters.q or ""
        with contextlib.suppress(InvalidUin):
            filters = replace(filters, q_uin=canonical_uin(q, self._uin_digits))
        if sum(c.isdigit() for c in q) >= PHONE_MIN_DIGITS and not PHONE_JUNK.search(q):
            with contextlib.suppress(InvalidField):
                filters = replace(filters, q_phone=normalised_phone(q, self.phone_region))
        return filters

    async def update_ticket(self, uin: str, data: TicketUpdate, actor: str) -> Ticket:
        changes = data.model_dump(exclude_unset=True)
        if "caller_phone" in changes:
            changes["caller_phone"] = normalised_phone(changes["caller_phone"], self.phone_region)
        updates.check_not_a_lifecycle_move(uin, changes)
        return await updates.update_ticket(self._sessions, uin, changes, actor, self.clock())

    async def attach_call(self, uin: str, data: CallAttach, actor: str) -> tuple[Call, bool]:
        """Record call `data.linkedid` on ticket `uin`; returns (call, created)."""
        return await updates.attach_call(self._sessions, uin, data, actor, self.clock())

    async def withdraw(self, uin: str, into: str, reason: str, actor: str) -> Ticket:
        """Withdraw the IVR's new ticket `uin`: the caller named their request `into`."""
        return await withdrawal.withdraw(self._sessions, uin, into, reason, actor, self.clock())

    async def call_uins(self, call: Call) -> list[str]:
        """UINs of every ticket opened in the call, in order of registration."""
        return await queries.call_uins(self._sessions, call)

    async def get_call(self, linkedid: str) -> tuple[Call, str | None]:
        """The call and the UIN of its ticket (None while it has none)."""
        return await queries.get_call(self._sessions, linkedid)

    async def ticket_events(self, uin: str) -> Sequence[TicketEvent]:
        return await queries.ticket_events(self._sessions, uin)
