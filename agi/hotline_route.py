"""Route `hotline`: register the caller's ticket and read its UIN out, then on to the queue.

What the caller hears and may press is the IVR's dialogue (`ivr/dialogue.py`); this route
drives it over AGI and does the work behind it: the business calendar, the CRM, the UIN
stock and the call facts.

The operator memo's first rule: on answering, the caller hears the number of their
request at once and is invited to write it down. Nothing here may drop a caller: the UIN
comes from the stock reserved in advance, so a slow or down CRM only delays the ticket
(owed, created with that UIN when the CRM answers); when the stock is out of reach too the
CRM picks the UIN; with both down the caller hears an apology and still goes on to the
queue. A caller who then names an existing request joins it, and their new UIN is
withdrawn (owed like a ticket when the CRM cannot take it now).
"""

from __future__ import annotations

import logging
import re
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from redis.exceptions import RedisError

from agi import commands
from agi.crm_client import (
    CrmClient,
    CrmUnavailable,
    Ticketed,
    TicketMissing,
    UinNotReserved,
    WithdrawalRefused,
)
from agi.server import AgiRequest
from agi.stock import PendingTickets, UinStock, owed_entry
from core.calendar import BusinessCalendar
from core.facts import CallFact, CallOutOfHours, CallTicketed
from ivr import dialogue
from ivr.catalogue import DEFAULT_LANGUAGE, LANGUAGES, prompt_file
from ivr.dialogue import Attachment, CallerLine, Desk, Opening
from ivr.menus import Menu

log = logging.getLogger(__name__)
# How long a caller who finds the UIN stock empty waits for its refill: within the greeting
# (1.5 s), so the caller hears no more silence for it.
STOCK_WAIT_S = 1.5
# Tickets registered with the CRM at once on callers' behalf; past it, a caller's ticket
# (of a reserved UIN) is owed at once and paid in the background: in a burst the CRM gets
# a bounded load, and no caller waits on a CRM that many others keep busy.
REGISTERING_MAX = 4
# Past this many new callers a second (over ARRIVALS_WINDOW_S) no ticket is registered on a
# caller's time at all: each registration costs the AGI server's loop (and the CRM) CPU that
# the burst's next callers need for their greeting; their tickets are owed and paid after.
BURST_ARRIVALS_PER_S = 100.0
ARRIVALS_WINDOW_S = 0.25
# The channel's Linkedid as the dialplan passes it (`?linkedid=${CHANNEL(linkedid)}`).
_LINKEDID = re.compile(r"^[0-9A-Za-z._-]{1,64}$")

PROMPTS = dialogue.PROMPTS


@dataclass
class HotlineDeps:
    crm: CrmClient
    stock: UinStock
    pending: PendingTickets
    publish: Callable[[CallFact], None]
    # The calendar as of now (the CRM's overrides change it): asked once per call.
    calendar: Callable[[], BusinessCalendar]
    clock: Callable[[], datetime]
    uin_digits: int = 8
    registering: RegistrationGate = field(default_factory=lambda: RegistrationGate())


class RegistrationGate:
    """How many callers' tickets are being registered with the CRM now, up to `limit`.

    Not a queue: a caller who finds it full does not wait for a place (their ticket is owed
    instead), so a burst never stands in line behind a busy CRM. Nor is anyone let in
    while callers arrive faster than `burst_per_s` (a burst): then every ticket is owed."""

    def __init__(
        self,
        limit: int = REGISTERING_MAX,
        burst_per_s: float = BURST_ARRIVALS_PER_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if limit < 0:
            raise ValueError(f"registration limit must be 0 or more, not {limit}")
        self.limit = limit
        self.in_flight = 0
        self.turned_away = 0  # tickets owed because the gate was full or a burst was on
        self._clock = clock
        self._burst_arrivals = max(1, round(burst_per_s * ARRIVALS_WINDOW_S))
        self._arrivals: deque[float] = deque()  # over the last ARRIVALS_WINDOW_S

    def in_a_burst(self) -> bool:
        """Count one arrival; True when callers come faster than `burst_per_s`."""
        now = self._clock()
        self._arrivals.append(now)
        while self._arrivals[0] <= now - ARRIVALS_WINDOW_S:
            self._arrivals.popleft()
        return len(self._arrivals) > self._burst_arrivals

    def try_enter(self) -> bool:
        if self.in_a_burst() or self.in_flight >= self.limit:
            self.turned_away += 1
            return False
        self.in_flight += 1
        return True

    def leave(self) -> None:
        self.in_flight -= 1


def caller_of(request: AgiRequest) -> tuple[str | None, str | None]:
    """Caller number and name from the AGI environment ("unknown" means none)."""
    number = request.env.get("agi_callerid", "").strip()
    name = request.env.get("agi_calleridname", "").strip()
    return (
        None if number in ("", "unknown") else number,
        None if name in ("", "unknown") else name,
    )


class HotlineRoute:
    def __init__(self, deps: HotlineDeps) -> None:
        self.deps = deps

    async def __call__(self, request: AgiRequest) -> None:
        language = request.query.get("lang", DEFAULT_LANGUAGE)
        if language not in LANGUAGES:
            language = DEFAULT_LANGUAGE
        await request.send_command("ANSWER")
        # The greeting waits for every command before it: only those it needs come first.
        if request.env.get("agi_language") != language:
            await request.send_command(commands.set_variable("CHANNEL(language)", language))
        linkedid = linkedid_of(request) or (
            await request.get_variable("CHANNEL(linkedid)") or request.env.get("agi_uniqueid", "")
        )
        now = self.deps.clock()
        opening = opening_at(self.deps.calendar(), now)
        if not opening.is_open and linkedid:
            phone, name = caller_of(request)
            self.deps.publish(
                CallOutOfHours(
                    linkedid=linkedid, caller_num=phone or "", caller_name=name or "", at=now
                )
            )
        # The dialplan reads it after the AGI: closed, the caller does not go on to the queue
        # (said first); open, they do, with it set or not (set last: the greeting first).
        if not opening.is_open:
            await request.send_command(commands.set_variable("HOTLINE_OPEN", "0"))
        await dialogue.answer(
            AgiCallerLine(request),
            HotlineDesk(self.deps, request, linkedid),
            opening=opening,
            uin_digits=self.deps.uin_digits,
        )
        if opening.is_open:
            await request.send_command(commands.set_variable("HOTLINE_OPEN", "1"))


def linkedid_of(request: AgiRequest) -> str | None:
    """The Linkedid the dialplan passed (`hotline?lang=ru&linkedid=${CHANNEL(linkedid)}`),
    which spares a `GET VARIABLE` before the greeting; None when absent or malformed."""
    value = request.query.get("linkedid", "")
    return value if _LINKEDID.match(value) else None


def opening_at(calendar: BusinessCalendar, now: datetime) -> Opening:
    """Open now or not; closed on a day whose weekday has hours: a holiday or a day closed
    by the supervisor (the caller is told so before the hours)."""
    if calendar.is_open(now):
        return Opening(is_open=True)
    today = now.astimezone(calendar.tz).date()
    normally_working = bool(calendar.week[today.weekday()])
    return Opening(
        is_open=False, closed_today=normally_working and not calendar.is_working_day(today)
    )


class AgiCallerLine(CallerLine):
    """The dialogue's prompts and menus as AGI commands on one call."""

    def __init__(self, request: AgiRequest) -> None:
        self._request = request

    async def play(self, prompt: str) -> None:
        await self._request.send_command(commands.stream_file(prompt_file(prompt)))

    async def ask(self, menu: Menu) -> str:
        return await self._request.get_data(
            prompt_file(menu.prompt), menu.timeout_ms, menu.max_digits
        )

    async def say_digits(self, digits: str) -> None:
        await self._request.send_command(commands.say_digits(digits))


class HotlineDesk(Desk):
    """One call's requests: registered with the CRM (the UIN stock behind it), joined to an
    existing one when the caller names it, the new one then withdrawn."""

    def __init__(self, deps: HotlineDeps, request: AgiRequest, linkedid: str) -> None:
        self.deps = deps
        self._request = request
        self._linkedid = linkedid
        self._new: Ticketed | None = None  # the request `register` opened
        self._owed = False  # its ticket is owed (the CRM did not take it yet)
        self._labels: dict[str, Ticketed] = {}

    async def register(self) -> str | None:
        ticket = await self._register()
        if ticket is None:
            return None
        self._new = ticket
        self._labels[ticket.uin] = ticket
        self._tell(ticket, attached=False)
        return ticket.uin

    async def label(self, uin: str) -> None:
        # Inherited (`__`) by the agent's channel: the tracker reads them from channelvars.
        ticket = self._labels[uin]
        await self._request.send_command(commands.set_variable("__UIN", ticket.uin))
        await self._request.send_command(
            commands.set_variable(
                "__TICKET_ID", "" if ticket.ticket_id is None else str(ticket.ticket_id)
            )
        )

    async def attach(self, uin: str) -> Attachment:
        try:
            found = await self.deps.crm.exists(uin)
        except CrmUnavailable as exc:
            log.warning("existing UIN not checked, CRM unavailable: %s", exc)
            return Attachment.UNCHECKED
        if found is None:
            return Attachment.NOT_FOUND
        if self._new is not None and found.uin != self._new.uin:
            await self._withdraw(self._new.uin, found.uin)
        self._labels[found.uin] = found
        self._tell(found, attached=True)
        await self.label(found.uin)
        return Attachment.ATTACHED

    async def _withdraw(self, uin: str, into: str) -> None:
        """The new UIN goes into the caller's request; owed when the CRM cannot take it now
        (or its ticket is owed itself): `PendingTickets` makes it as soon as it can."""
        if not self._owed:
            try:
                await self.deps.crm.withdraw(uin, into)
                return
            except (CrmUnavailable, TicketMissing) as exc:
                log.warning("withdrawal of %s into %s owed: %s", uin, into, exc)
            except WithdrawalRefused as exc:
                log.error("withdrawal refused by the CRM: %s", exc)
                return
        try:
            await self.deps.pending.withdraw_later(uin, into)
        except (RedisError, OSError) as exc:
            log.error("withdrawal of %s into %s lost, Redis unreachable: %s", uin, into, exc)

    async def _register(self) -> Ticketed | None:
        """The caller's new ticket, on a UIN reserved in advance whenever there is one.

        With a reserved UIN, registering is idempotent (`PUT /api/tickets/{uin}`): a CRM that
        answers after our deadline still ends with exactly the ticket the caller was told,
        and the owed-ticket retry cannot make a second one. Only with the stock empty (or
        Redis down, or a stock the CRM does not know) does the CRM pick the UIN
        (`POST /api/tickets`)."""
        phone, name = caller_of(self._request)
        # An empty stock is refilled at once: a moment's wait for it (the greeting is
        # playing) spares the CRM a registration per caller in a burst.
        gate = self.deps.registering
        if not gate.try_enter():
            # A burst, or the CRM has enough callers' tickets in hand: this one is owed, in
            # the same Redis step as its UIN's take.
            uin = await self.deps.stock.take(wait_s=STOCK_WAIT_S, owed=owed_entry(phone, name))
            if uin is not None:
                self.deps.pending.added()
                self._owed = True
                return Ticketed(uin, None)
        else:
            try:
                uin = await self.deps.stock.take(wait_s=STOCK_WAIT_S)
                if uin is not None and (ticket := await self._register_reserved(uin, phone, name)):
                    return ticket
            finally:
                gate.leave()
        # Not gated: with Redis down this is every caller's only way to a UIN while the CRM
        # is up (the apology is for both down).
        try:
            return await self.deps.crm.register(phone, name)
        except CrmUnavailable as exc:
            log.error("no UIN for %s: UIN stock empty and CRM unavailable: %s", phone, exc)
            return None

    async def _register_reserved(
        self, uin: str, phone: str | None, name: str | None
    ) -> Ticketed | None:
        """The ticket of `uin` registered now, or owed; None when the CRM does not know the
        stock (the CRM then picks this caller's UIN)."""
        try:
            return await self.deps.crm.register_reserved(uin, phone, name)
        except CrmUnavailable as exc:
            return await self._owe(uin, phone, name, str(exc))
        except UinNotReserved:
            # The CRM's database is younger than the stock (restored, or replaced): none of
            # the stock can be used.
            log.error("UIN stock unknown to the CRM (%s is not reserved): discarded", uin)
            await self.deps.stock.discard()
            return None

    async def _owe(self, uin: str, phone: str | None, name: str | None, why: str) -> Ticketed:
        """The caller is told `uin` now; its ticket is created later (`PendingTickets`)."""
        log.warning("CRM unavailable, ticket %s owed until it answers: %s", uin, why)
        self._owed = True
        try:
            await self.deps.pending.add(uin, phone, name, crm_away=True)
        except (RedisError, OSError) as exc:
            log.error("UIN %s given but its ticket could not be queued: %s", uin, exc)
        return Ticketed(uin, None)

    def _tell(self, ticket: Ticketed, attached: bool) -> None:
        """The `ticketed` fact: the recorder links the call to the ticket (to the named one,
        whatever it was told before, when `attached`)."""
        if not self._linkedid:
            return
        phone, name = caller_of(self._request)
        self.deps.publish(
            CallTicketed(
                linkedid=self._linkedid,
                uin=ticket.uin,
                ticket_id=ticket.ticket_id,
                attached=attached,
                caller_num=phone or "",
                caller_name=name or "",
                uniqueid=self._request.env.get("agi_uniqueid", ""),
            )
        )
