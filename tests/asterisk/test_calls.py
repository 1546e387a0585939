"""One answered call and one abandon through the real Asterisk and all of Hotline.

The caller goes through the project's own `[hotline-in]`: the `hotline` AGI route gives a
UIN and reads it out, `Queue(hotline)` holds the caller, an agent's phone answers (or
nobody does). The tracker and the recorder must then hold what Asterisk said: the ticket
of that UIN, the call linked to it, the wait equal to Asterisk's whole-second `HoldTime`.
"""

from __future__ import annotations

import asyncio
import re
from typing import Any

import pytest

from tests.asterisk.harness import Caller, Line

WAIT_TOLERANCE_S = 1.0  # HoldTime is whole seconds of Asterisk's clock
ANSWER_S = 2  # the agent's phone rings this long before it answers


def _ended(call: dict[str, Any]) -> bool:
    return call["ended_at"] is not None and call["outcome"] != "in_progress"


def _read_out(line: Line, caller: Caller) -> str:
    """The digits the AGI route had Asterisk say to the caller (SAY DIGITS on its channel)."""
    said = []
    for frame in line.ami.events("AGIExecStart", Channel=caller.channel):
        match = re.fullmatch(r'SAY DIGITS "?(\d+)"?.*', frame.get("Command"))
        if match:
            said.append(match.group(1))
    return "".join(said)


async def _answered(line: Line) -> tuple[Caller, dict[str, Any], int]:
    await line.add_agent("agent01", answer_s=ANSWER_S)
    caller = await line.call("79000000001", "Alice")
    connect = await line.event("AgentConnect", caller)
    await asyncio.sleep(2)  # talk
    await line.hang_up(caller)
    await line.agent_complete(caller, "agent01")
    call = await line.crm_call(caller, _ended)
    return caller, call, int(connect["HoldTime"])


async def test_answered_call_has_its_ticket_and_asterisks_wait(line: Line) -> None:
    caller, call, hold_time_s = await _answered(line)
    uin = call["uin"]
    assert uin and uin.isdigit()
    ticket = await line.crm.get(f"/api/tickets/{uin}")
    assert ticket.status_code == 200, ticket.text
    assert _read_out(line, caller) == uin.lstrip("0")  # the ticket's UIN, its short form
    assert uin in call["uins"]
    assert call["outcome"] == "answered"
    assert call["queue"] == "hotline"
    assert call["agent"] == "agent01"
    assert call["wait_s"] == pytest.approx(hold_time_s, abs=WAIT_TOLERANCE_S)


async def test_answered_call_records_the_callers_number(line: Line) -> None:
    _, call, _ = await _answered(line)
    # Recorded as Asterisk gives it, or in E.164 like a ticket's phone: either is the caller.
    assert call["caller_number"] in ("79000000001", "+79000000001")
    assert call["caller_name"] == "Alice"


async def test_answered_caller_waits_only_for_the_agent(line: Line) -> None:
    _, _, hold_time_s = await _answered(line)
    # app_queue's HoldTime is a difference of whole-second clock readings (`time(NULL)`):
    # 2.2 s of ringing from x.9 reads 3. Nothing else (a whisper, an announcement) holds
    # the caller: that would be 2 s or more on top.
    assert hold_time_s - ANSWER_S <= WAIT_TOLERANCE_S


async def test_abandoned_call_has_asterisks_wait(line: Line) -> None:
    caller = await line.call("79000000002", "Boris")
    await line.event("QueueCallerJoin", caller)
    await asyncio.sleep(7)  # nobody answers: past the 5 s of a short abandon
    await line.hang_up(caller)
    abandon = await line.event("QueueCallerAbandon", caller, timeout_s=30)
    call = await line.crm_call(caller, _ended)
    assert call["outcome"] == "abandoned"
    assert call["queue"] == "hotline"
    assert call["agent"] is None
    assert call["wait_s"] == pytest.approx(int(abandon["HoldTime"]), abs=WAIT_TOLERANCE_S)
    assert (await line.crm.get(f"/api/tickets/{call['uin']}")).status_code == 200
