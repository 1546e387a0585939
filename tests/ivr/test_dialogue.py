"""The business-hours dialogue on its own: what the caller hears and may press, in order."""

from __future__ import annotations

import pytest

from ivr.catalogue import PROMPTS as CATALOGUE
from ivr.dialogue import PROMPTS, Attachment, CallerLine, Desk, answer
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

    async def attach(self, uin: str) -> Attachment:
        self.looked_up.append(uin)
        return self.known.get(uin, Attachment.NOT_FOUND)

    async def register(self) -> str | None:
        self.registered += 1
        return self.new_uin


OFFER = "existing-uin-offer (3000 ms, 1)"
ENTER = "existing-uin-enter (10000 ms, 8)"
REPEAT = "uin-repeat-offer (3000 ms, 1)"
READOUT = ["uin-intro", "0001", "2345"]


async def run(caller: ScriptedCaller, desk: FakeDesk, is_open: bool = True) -> list[str]:
    await answer(caller, desk, is_open=is_open, uin_digits=8)
    return caller.heard


async def test_out_of_hours_only_the_closed_prompt() -> None:
    desk = FakeDesk()
    assert await run(ScriptedCaller("1"), desk, is_open=False) == ["closed-hours"]
    assert desk.registered == 0 and desk.looked_up == []


async def test_a_new_caller_hears_the_new_number_and_may_hear_it_again() -> None:
    assert await run(ScriptedCaller(), FakeDesk()) == [OFFER, *READOUT, "uin-write-down", REPEAT]
    again = await run(ScriptedCaller("", "1"), FakeDesk())
    assert again == [OFFER, *READOUT, "uin-write-down", REPEAT, *READOUT]


async def test_a_caller_with_a_request_is_attached_to_it() -> None:
    desk = FakeDesk({"00012345": Attachment.ATTACHED})
    heard = await run(ScriptedCaller("1", "12345"), desk)  # typed short: padded with zeros
    assert heard == [OFFER, ENTER, "uin-attached", *READOUT]
    assert desk.looked_up == ["00012345"] and desk.registered == 0


async def test_a_wrong_number_gets_one_retry_then_a_new_request() -> None:
    desk = FakeDesk()
    heard = await run(ScriptedCaller("1", "99999999", "", "2"), desk)
    assert heard == [
        OFFER,
        ENTER,
        "uin-not-found",
        ENTER,
        "uin-not-found",
        *READOUT,
        "uin-write-down",
        REPEAT,
    ]
    assert desk.looked_up == ["99999999"]  # nothing typed the second time: not looked up
    assert desk.registered == 1


async def test_a_number_that_cannot_be_checked_gives_a_new_request_at_once() -> None:
    desk = FakeDesk({"00000042": Attachment.UNCHECKED})
    heard = await run(ScriptedCaller("1", "42"), desk)
    assert heard == [OFFER, ENTER, *READOUT, "uin-write-down", REPEAT]
    assert desk.registered == 1


async def test_no_number_to_give_an_apology() -> None:
    assert await run(ScriptedCaller(), FakeDesk(new_uin=None)) == [OFFER, "apology-no-uin"]


@pytest.mark.parametrize("name", PROMPTS)
def test_every_dialogue_prompt_is_in_the_catalogue(name: str) -> None:
    assert name in CATALOGUE
