"""Route `hotline`: register the caller's ticket and read its UIN out, then back to the queue.

The operator memo's first rule: on answering, the caller hears the number of their
request at once and is invited to write it down. Nothing here may drop a caller: the UIN
comes from the stock reserved in advance, so a slow or down CRM only delays the ticket
(owed, created with that UIN when the CRM answers); when the stock is out of reach too the
CRM picks the UIN; with both down the caller hears an apology and still goes on to the
queue.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from redis.exceptions import RedisError

from agi import commands
from agi.crm_client import CrmClient, CrmUnavailable, Ticketed, UinNotReserved
from agi.server import AgiRequest
from agi.stock import PendingTickets, UinStock
from core.calendar import BusinessCalendar
from core.facts import CallFact, CallOutOfHours, CallTicketed
from ivr.catalogue import DEFAULT_LANGUAGE, LANGUAGES, prompt_file
from ivr.readout import group_digits

log = logging.getLogger(__name__)

OFFER_TIMEOUT_MS = 3000
ENTER_TIMEOUT_MS = 10000
REPEAT_TIMEOUT_MS = 3000

# Every prompt this route plays: the AGI server refuses to start if one is not rendered.
PROMPTS = (
    "closed-hours",
    "existing-uin-offer",
    "existing-uin-enter",
    "uin-not-found",
    "uin-attached",
    "uin-intro",
    "uin-write-down",
    "uin-repeat-offer",
    "apology-no-uin",
)


@dataclass
class HotlineDeps:
    crm: CrmClient
    stock: UinStock
    pending: PendingTickets
    publish: Callable[[CallFact], None]
    calendar: BusinessCalendar
    clock: Callable[[], datetime]
    uin_digits: int = 8


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
        await request.send_command(commands.set_variable("CHANNEL(language)", language))
        linkedid = await request.get_variable("CHANNEL(linkedid)") or request.env.get(
            "agi_uniqueid", ""
        )
        now = self.deps.clock()
        if not self.deps.calendar.is_open(now):
            phone, name = caller_of(request)
            if linkedid:
                self.deps.publish(
                    CallOutOfHours(
                        linkedid=linkedid, caller_num=phone or "", caller_name=name or "", at=now
                    )
                )
            await request.send_command(commands.set_variable("HOTLINE_OPEN", "0"))
            await request.send_command(commands.stream_file(prompt_file("closed-hours")))
            return
        await request.send_command(commands.set_variable("HOTLINE_OPEN", "1"))
        existing = await self._existing_ticket(request)
        if existing is not None:
            await self._announce(request, linkedid, existing, attached=True)
            await request.send_command(commands.stream_file(prompt_file("uin-attached")))
            await self._read_uin(request, existing.uin)
            return
        ticket = await self._register(request)
        if ticket is None:
            await request.send_command(commands.stream_file(prompt_file("apology-no-uin")))
            return
        await self._announce(request, linkedid, ticket, attached=False)
        await self._read_uin(request, ticket.uin)
        await request.send_command(commands.stream_file(prompt_file("uin-write-down")))
        again = await request.get_data(prompt_file("uin-repeat-offer"), REPEAT_TIMEOUT_MS, 1)
        if again == "1":
            await self._read_uin(request, ticket.uin)

    async def _existing_ticket(self, request: AgiRequest) -> Ticketed | None:
        """The caller's existing request, if they have one and typed it right (one retry)."""
        offer = await request.get_data(prompt_file("existing-uin-offer"), OFFER_TIMEOUT_MS, 1)
        if offer != "1":
            return None
        for _attempt in range(2):
            typed = await request.get_data(
                prompt_file("existing-uin-enter"), ENTER_TIMEOUT_MS, self.deps.uin_digits
            )
            if typed.isdigit():
                try:
                    found = await self.deps.crm.exists(typed.zfill(self.deps.uin_digits))
                except CrmUnavailable as exc:
                    # Cannot check it now: a new request is safer than a wrong attachment.
                    log.warning("existing UIN not checked, CRM unavailable: %s", exc)
                    return None
                if found is not None:
                    return found
            await request.send_command(commands.stream_file(prompt_file("uin-not-found")))
        return None

    async def _register(self, request: AgiRequest) -> Ticketed | None:
        """The caller's new ticket, on a UIN reserved in advance whenever there is one.

        With a reserved UIN, registering is idempotent (`PUT /api/tickets/{uin}`): a CRM that
        answers after our deadline still ends with exactly the ticket the caller was told,
        and the owed-ticket retry cannot make a second one. Only with the stock empty (or
        Redis down, or a stock the CRM does not know) does the CRM pick the UIN
        (`POST /api/tickets`)."""
        phone, name = caller_of(request)
        uin = await self.deps.stock.take()
        if uin is not None:
            try:
                return await self.deps.crm.register_reserved(uin, phone, name)
            except CrmUnavailable as exc:
                log.warning("CRM unavailable, ticket %s owed until it answers: %s", uin, exc)
                try:
                    await self.deps.pending.add(uin, phone, name)
                except (RedisError, OSError) as exc:
                    log.error("UIN %s given but its ticket could not be queued: %s", uin, exc)
                return Ticketed(uin, None)
            except UinNotReserved:
                # The CRM's database is younger than the stock (restored, or replaced): none
                # of the stock can be used. The CRM picks this caller's UIN.
                log.error("UIN stock unknown to the CRM (%s is not reserved): discarded", uin)
                await self.deps.stock.discard()
        try:
            return await self.deps.crm.register(phone, name)
        except CrmUnavailable as exc:
            log.error("no UIN for %s: UIN stock empty and CRM unavailable: %s", phone, exc)
            return None

    async def _announce(
        self, request: AgiRequest, linkedid: str, ticket: Ticketed, attached: bool
    ) -> None:
        # Inherited (`__`) by the agent's channel: the tracker reads them from channelvars.
        await request.send_command(commands.set_variable("__UIN", ticket.uin))
        await request.send_command(
            commands.set_variable(
                "__TICKET_ID", "" if ticket.ticket_id is None else str(ticket.ticket_id)
            )
        )
        if linkedid:
            self.deps.publish(
                CallTicketed(
                    linkedid=linkedid, uin=ticket.uin, ticket_id=ticket.ticket_id, attached=attached
                )
            )

    async def _read_uin(self, request: AgiRequest, uin: str) -> None:
        await request.send_command(commands.stream_file(prompt_file("uin-intro")))
        for group in group_digits(uin):
            await request.send_command(commands.say_digits(group))
