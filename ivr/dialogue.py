"""The hotline's business-hours dialogue: what a caller hears and may press, in which order.

Out of hours the caller hears when the hotline is open (after "today is a non-working day"
on a holiday) and nothing else. In hours, the operator memo's first rule: the number of
the caller's request at once. A short greeting that asks them to write it down plays while
the request is registered, then the UIN's short form in groups of three ("12 345"), then
one short menu: 1 hears it again, 2 gives the number of a request the caller already has
(the call then joins that request and the new UIN is withdrawn), nothing goes on to the
queue after 2 s. The existing-number offer comes after the UIN and not before it, so that
the many callers with a new request are not kept waiting by it (`docs/ivr.md`).

The dialogue knows neither AGI nor the CRM nor the UIN stock: it speaks through a
`CallerLine` and relies on a `Desk` (`agi/hotline_route.py` provides both).
"""

from __future__ import annotations

import asyncio
import enum
from abc import ABC, abstractmethod
from dataclasses import dataclass

from core.uin import InvalidUin, canonical_uin, spoken_groups
from ivr.menus import EXISTING, MAX_REPEATS, REPEAT, UIN_ENTRY_ATTEMPTS, UIN_MENU, Menu, uin_entry

# Every prompt the dialogue plays: the AGI server refuses to start if one is not rendered.
PROMPTS = (
    "welcome",
    "uin-menu",
    "pause",
    "existing-uin-enter",
    "uin-not-found",
    "uin-not-checked",
    "uin-attached",
    "apology-no-uin",
    "closed-hours",
    "closed-today",
)


class Attachment(enum.Enum):
    """What became of the number a caller typed."""

    ATTACHED = "attached"  # the call now belongs to that request
    NOT_FOUND = "not_found"  # no request has that number: the caller may try again
    UNCHECKED = "unchecked"  # it cannot be checked now: a new request is safer than a guess


@dataclass(frozen=True)
class Opening:
    """Whether the hotline is open now, and if not whether today is a day off that is
    normally a working day (a holiday, or a day the supervisor closed)."""

    is_open: bool
    closed_today: bool = False


class CallerLine(ABC):
    """The caller's end of the dialogue: prompts out, keys in."""

    @abstractmethod
    async def play(self, prompt: str) -> None:
        """Play the catalogue prompt `prompt` to its end."""

    @abstractmethod
    async def ask(self, menu: Menu) -> str:
        """Play `menu`'s prompt and return the keys pressed ("" for none)."""

    @abstractmethod
    async def say_digits(self, digits: str) -> None:
        """Speak `digits` one by one."""


class Desk(ABC):
    """The back office behind the dialogue: the requests this call opens or joins."""

    @abstractmethod
    async def register(self) -> str | None:
        """Open a new request for this caller: its UIN, or None when none can be given.

        Talks to no caller (it runs while the greeting plays)."""

    @abstractmethod
    async def label(self, uin: str) -> None:
        """Mark the call with the request it belongs to now (for the queue and agents)."""

    @abstractmethod
    async def attach(self, uin: str) -> Attachment:
        """Join this call to the request numbered `uin`, if there is one, withdrawing the
        new request `register` opened."""


async def answer(line: CallerLine, desk: Desk, *, opening: Opening, uin_digits: int) -> None:
    """The whole dialogue of one call, from the first prompt to the hand-over to the queue."""
    if not opening.is_open:
        if opening.closed_today:
            await line.play("closed-today")
        await line.play("closed-hours")
        return
    uin = await register_while_greeting(line, desk)
    if uin is None:
        await line.play("apology-no-uin")
        return
    await desk.label(uin)
    await read_uin(line, uin)
    repeats = 0
    while True:
        key = await line.ask(UIN_MENU)
        if key == REPEAT and repeats < MAX_REPEATS:
            repeats += 1
            await read_uin(line, uin)
            continue
        if key == EXISTING:
            await existing_request(line, desk, uin, uin_digits)
        return


async def register_while_greeting(line: CallerLine, desk: Desk) -> str | None:
    """The greeting plays while the request is registered: the UIN is spoken only once its
    ticket exists (or is owed, from the reserved stock), and the caller waits for neither.

    A caller who hangs up during the greeting still has their request registered."""
    registering = asyncio.create_task(desk.register())
    try:
        await line.play("welcome")
    finally:
        uin = await registering
    return uin


async def existing_request(line: CallerLine, desk: Desk, new_uin: str, uin_digits: int) -> None:
    """The caller gives the number of a request they already have: the call joins it."""
    for _attempt in range(UIN_ENTRY_ATTEMPTS):
        typed = await line.ask(uin_entry(uin_digits))
        try:
            uin = canonical_uin(typed, uin_digits)
        except InvalidUin:
            uin = None
        if uin == new_uin:
            return  # the number they were just given: nothing to join
        if uin is not None:
            attachment = await desk.attach(uin)
            if attachment is Attachment.ATTACHED:
                await line.play("uin-attached")
                await read_uin(line, uin)
                return
            if attachment is Attachment.UNCHECKED:
                # The new request stays theirs; the agent will join the two if need be.
                await line.play("uin-not-checked")
                return
        await line.play("uin-not-found")


async def read_uin(line: CallerLine, uin: str) -> None:
    """The short form, in groups of three from the right with a pause between groups."""
    for n, group in enumerate(spoken_groups(uin)):
        if n:
            await line.play("pause")
        await line.say_digits(group)
