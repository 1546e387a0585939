"""The hotline's business-hours dialogue: what a caller hears and may press, in which order.

Out of hours the caller hears the closed-hours prompt and nothing else. In hours they are
offered to give an existing request's number (checked, one retry); a caller attached to
their request hears so and its number. A new caller hears the number of their new
request, is asked to write it down and may hear it again; with no number to give them,
an apology. The dialogue knows neither AGI nor the CRM nor the UIN stock: it speaks
through a `CallerLine` and relies on a `Desk` (`agi/hotline_route.py` provides both).
"""

from __future__ import annotations

import enum
from abc import ABC, abstractmethod

from ivr.menus import EXISTING_UIN_OFFER, REPEAT_OFFER, UIN_ENTRY_ATTEMPTS, YES, Menu, uin_entry
from ivr.readout import group_digits

# Every prompt the dialogue plays: the AGI server refuses to start if one is not rendered.
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


class Attachment(enum.Enum):
    """What became of the number a caller typed."""

    ATTACHED = "attached"  # the call now belongs to that request
    NOT_FOUND = "not_found"  # no request has that number: the caller may try again
    UNCHECKED = "unchecked"  # it cannot be checked now: a new request is safer than a guess


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
    """The back office behind the dialogue: the requests this call is attached to or opens."""

    @abstractmethod
    async def attach(self, uin: str) -> Attachment:
        """Attach this call to the request numbered `uin`, if there is one."""

    @abstractmethod
    async def register(self) -> str | None:
        """Open a new request for this caller: its UIN, or None when none can be given."""


async def answer(line: CallerLine, desk: Desk, *, is_open: bool, uin_digits: int) -> None:
    """The whole dialogue of one call, from the first prompt to the hand-over to the queue."""
    if not is_open:
        await line.play("closed-hours")
        return
    existing = await existing_request(line, desk, uin_digits)
    if existing is not None:
        await line.play("uin-attached")
        await read_uin(line, existing)
        return
    uin = await desk.register()
    if uin is None:
        await line.play("apology-no-uin")
        return
    await read_uin(line, uin)
    await line.play("uin-write-down")
    if await line.ask(REPEAT_OFFER) == YES:
        await read_uin(line, uin)


async def existing_request(line: CallerLine, desk: Desk, uin_digits: int) -> str | None:
    """The UIN of the caller's existing request when they have one and typed it right."""
    if await line.ask(EXISTING_UIN_OFFER) != YES:
        return None
    for _attempt in range(UIN_ENTRY_ATTEMPTS):
        typed = await line.ask(uin_entry(uin_digits))
        if typed.isdigit():
            uin = typed.zfill(uin_digits)
            attachment = await desk.attach(uin)
            if attachment is Attachment.ATTACHED:
                return uin
            if attachment is Attachment.UNCHECKED:
                return None
        await line.play("uin-not-found")
    return None


async def read_uin(line: CallerLine, uin: str) -> None:
    """The number in groups of digits, so that it can be written down."""
    await line.play("uin-intro")
    for group in group_digits(uin):
        await line.say_digits(group)
