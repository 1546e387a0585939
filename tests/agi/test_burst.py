"""A burst of callers: the greeting waits for nothing it does not need, and the CRM is given
a bounded number of registrations at once (the rest owed, paid right after)."""

from __future__ import annotations

import pytest
from redis.exceptions import RedisError

from agi.hotline_route import RegistrationGate
from core.facts import load_fact
from tests.agi.conftest import Hotline
from tests.agi.scripted import environment, replies, run_script

CHANNEL = "Local/100@hotline-in-0000002a;2"


async def _ticketed(hotline: Hotline) -> list:
    await hotline.agi.outbox.drained(5)
    return [
        f
        for f in map(load_fact, (f[b"fact"] for f in await hotline.facts()))
        if f.kind == "ticketed"
    ]


async def test_the_greeting_follows_the_answer_when_the_dialplan_gives_the_linkedid(
    hotline: Hotline,
) -> None:
    # The channel speaks Russian already (agi_language) and the dialplan passes its Linkedid.
    env = environment("hotline?lang=ru&linkedid=1795311765.41", channel=CHANNEL)
    commands = await run_script(hotline.agi.port, env, replies())
    assert commands[:2] == ["ANSWER", 'STREAM FILE "hotline/welcome" ""']
    assert not any(c.startswith("GET VARIABLE") for c in commands)
    assert commands[-1] == 'SET VARIABLE "HOTLINE_OPEN" "1"'
    [told] = await _ticketed(hotline)
    assert told.linkedid == "1795311765.41"  # the dialplan's, with no round trip for it


async def test_a_malformed_linkedid_is_asked_of_asterisk_instead(hotline: Hotline) -> None:
    env = environment("hotline?lang=en&linkedid=x%20y%3Bz", channel=CHANNEL)
    answer = replies({"CHANNEL(linkedid)": "1795311765.42"})
    commands = await run_script(hotline.agi.port, env, answer)
    assert commands[:4] == [
        "ANSWER",
        'SET VARIABLE "CHANNEL(language)" "en"',  # agi_language is "ru"
        'GET VARIABLE "CHANNEL(linkedid)"',
        'STREAM FILE "hotline/welcome" ""',
    ]
    [told] = await _ticketed(hotline)
    assert told.linkedid == "1795311765.42"


async def test_past_the_registration_limit_the_ticket_is_owed_at_once_then_paid(
    hotline: Hotline,
) -> None:
    await hotline.agi.stock.refill()
    gate = hotline.agi.hotline.deps.registering = RegistrationGate(limit=0)
    call = hotline.pbx.place_call("79000000031", "Зоя")
    await hotline.pbx.run_for(60)
    uin = call.truth.variables["UIN"]
    assert call.truth.variables["TICKET_ID"] == ""  # not registered on the caller's time
    assert gate.turned_away == 1 and gate.in_flight == 0
    await hotline.agi.pending.flush()  # the owed-ticket loop may pay it first: either way
    stored = (await hotline.crm.get(f"/api/tickets/{uin}")).json()
    assert stored["caller_name"] == "Зоя"
    assert await hotline.redis.hlen(hotline.keys.pending_tickets) == 0


def test_a_negative_registration_limit_is_refused() -> None:
    with pytest.raises(ValueError, match="registration limit"):
        RegistrationGate(limit=-1)


def test_past_a_hundred_callers_a_second_no_ticket_is_registered_on_a_callers_time() -> None:
    now = [1000.0]
    gate = RegistrationGate(limit=4, burst_per_s=100, clock=lambda: now[0])
    # 50 a second (the soak's pace): every caller may register, one after another.
    for _ in range(50):
        assert gate.try_enter()
        gate.leave()
        now[0] += 0.02
    # 500 a second: once the last quarter second has seen over 25, all are owed, though
    # the gate has room.
    entered = []
    for _ in range(100):
        entered.append(gate.try_enter())
        if entered[-1]:
            gate.leave()
        now[0] += 0.002
    assert gate.in_flight == 0
    assert not any(entered[20:])
    assert gate.turned_away >= 80
    # Once the burst is over, callers register again.
    now[0] += 1.0
    assert gate.try_enter()


async def test_in_a_burst_a_uin_is_never_out_of_the_stock_without_its_ticket_owed(
    hotline: Hotline, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The take and the debt are one Redis step: a Redis failing between two separate
    commands (here: any separate write of the debt) cannot leave a UIN told and not owed."""
    await hotline.agi.stock.refill()
    hotline.agi.hotline.deps.registering = RegistrationGate(limit=0)

    async def fails(*_args: object) -> None:
        raise RedisError("connection lost")

    monkeypatch.setattr(hotline.agi.pending, "add", fails)
    call = hotline.pbx.place_call("79000000033", "Ян")
    await hotline.pbx.run_for(60)
    uin = call.truth.variables["UIN"]
    assert await hotline.redis.hexists(hotline.keys.pending_tickets, uin) or (
        (await hotline.crm.get(f"/api/tickets/{uin}")).status_code == 200
    )
