"""The business-hours dialogue on its own: what the caller hears and may press, in order."""

from __future__ import annotations

import asyncio

import pytest

from ivr.catalogue import PROMPTS as CATALOGUE
from ivr.catalogue import SILENCES
from ivr.dialogue import PROMPTS, Attachment, CallerLine, Desk, Opening, answer
from ivr.menus import Menu


class ScriptedCaller(CallerLine):
    """A caller who presses the given keys, menu after menu, and notes all they hear."""

    def __init__(self, *keys: str) -> None:
        self.keys = list(keys)
        self.heard: list[str] = []

    async def play(self, prompt: str) -> None:
        self.heard.append(prompt)

    async def ask(self, menu: Menu) -> str:
        self.heard.append(f"{menu.prompt} ({menu.timeout_ms} ms, {menu.max_digits})")
        return self.keys.pop(0) if self.keys else ""

    async def say_digits(self, digits: str) -> None:
        self.heard.append(digits)


class FakeDesk(Desk):
    def __init__(
        self, known: dict[str, Attachment] | None = None, new_uin: str | None = "00012345"
    ) -> None:
        self.known = known or {}
        self.new_uin = new_uin
        self.looked_up: list[str] = []
        self.registered = 0
        self.labels: list[str] = []

    async def attach(self, uin: str) -> Attachment:
        self.looked_up.append(uin)
        return self.known.get(uin, Attachment.NOT_FOUND)

    async def register(self) -> str | None:
        self.registered += 1
        return self.new_uin

    async def label(self, uin: str) -> None:
        self.labels.append(uin)


MENU = "uin-menu (2000 ms, 1)"
ENTER = "existing-uin-enter (10000 ms, 8)"
# 00012345 read as a caller writes it: "12", a pause, "345"; no padding zeros.
READOUT = ["12", "pause", "345"]
OPEN = Opening(is_open=True)


async def run(caller: ScriptedCaller, desk: FakeDesk, opening: Opening = OPEN) -> list[str]:
    await answer(caller, desk, opening=opening, uin_digits=8)
    return caller.heard


async def test_out_of_hours_only_the_closed_prompt() -> None:
    desk = FakeDesk()
    assert await run(ScriptedCaller("1"), desk, Opening(is_open=False)) == ["closed-hours"]
    assert desk.registered == 0 and desk.looked_up == []


async def test_on_a_holiday_the_caller_is_told_today_is_a_day_off() -> None:
    heard = await run(ScriptedCaller(), FakeDesk(), Opening(is_open=False, closed_today=True))
    assert heard == ["closed-today", "closed-hours"]


async def test_a_new_caller_hears_the_welcome_and_the_number_first() -> None:
    desk = FakeDesk()
    assert await run(ScriptedCaller(), desk) == ["welcome", *READOUT, MENU]
    assert desk.labels == ["00012345"]


async def test_the_number_is_read_again_on_request() -> None:
    again = await run(ScriptedCaller("1"), FakeDesk())
    assert again == ["welcome", *READOUT, MENU, *READOUT, MENU]
    # At most twice more: then the caller goes on whatever they press.
    many = await run(ScriptedCaller("1", "1", "1"), FakeDesk())
    assert many == ["welcome", *READOUT, MENU, *READOUT, MENU, *READOUT, MENU]


async def test_the_readout_has_no_padding_zeros_and_groups_of_three() -> None:
    heard = await run(ScriptedCaller(), FakeDesk(new_uin="00000208"))
    assert heard == ["welcome", "208", MENU]
    heard = await run(ScriptedCaller(), FakeDesk(new_uin="12345678"))
    assert heard == ["welcome", "12", "pause", "345", "pause", "678", MENU]
    assert SILENCES["pause"] >= 0.4  # audible between groups, unlike the gap between digits


async def test_a_caller_with_a_request_is_attached_to_it() -> None:
    desk = FakeDesk({"00000042": Attachment.ATTACHED})
    heard = await run(ScriptedCaller("2", "42"), desk)  # typed short: padded with zeros
    assert heard == ["welcome", *READOUT, MENU, ENTER, "uin-attached", "42"]
    assert desk.looked_up == ["00000042"] and desk.registered == 1


async def test_a_wrong_number_gets_one_retry_then_the_new_request_stays() -> None:
    desk = FakeDesk()
    heard = await run(ScriptedCaller("2", "99999999", ""), desk)
    assert heard == [
        "welcome",
        *READOUT,
        MENU,
        ENTER,
        "uin-not-found",
        ENTER,
        "uin-not-found",
    ]
    assert desk.looked_up == ["99999999"]  # nothing typed the second time: not looked up


async def test_a_number_that_cannot_be_checked_keeps_the_new_request() -> None:
    desk = FakeDesk({"00000042": Attachment.UNCHECKED})
    heard = await run(ScriptedCaller("2", "42"), desk)
    assert heard == ["welcome", *READOUT, MENU, ENTER, "uin-not-checked"]


async def test_typing_the_new_number_back_changes_nothing() -> None:
    desk = FakeDesk()
    heard = await run(ScriptedCaller("2", "12345"), desk)
    assert heard == ["welcome", *READOUT, MENU, ENTER]
    assert desk.looked_up == []


async def test_no_number_to_give_an_apology() -> None:
    assert await run(ScriptedCaller(), FakeDesk(new_uin=None)) == ["welcome", "apology-no-uin"]


async def test_registration_runs_while_the_welcome_plays() -> None:
    """The greeting does not wait for the CRM, and the UIN waits for its ticket."""
    order: list[str] = []

    class SlowDesk(FakeDesk):
        async def register(self) -> str | None:
            order.append("register started")
            await asyncio.sleep(0.05)
            order.append("registered")
            return await super().register()

    class Line(ScriptedCaller):
        async def play(self, prompt: str) -> None:
            order.append(f"play {prompt}")
            await super().play(prompt)

        async def say_digits(self, digits: str) -> None:
            order.append(f"say {digits}")

    await answer(Line(), SlowDesk(), opening=Opening(is_open=True), uin_digits=8)
    assert order.index("play welcome") < order.index("registered") < order.index("say 12")


@pytest.mark.parametrize("name", PROMPTS)
def test_every_dialogue_prompt_is_in_the_catalogue(name: str) -> None:
    assert name in CATALOGUE or name in SILENCES
