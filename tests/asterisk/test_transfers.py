"""Transfers on the real Asterisk, through the project's own `[hotline-transfer]` and the
rendered `[hotline-targets]` (HOTLINE_TRANSFER_TARGETS' defaults: 201 agent01, 202
agent02, 300 the `support` queue).

Two transfers go, the third is refused (409 over the API to the agent who has the caller;
on the phone path the route refuses and the caller goes back to that agent); the context
filed goes with the caller to the next agent's screen pop; the CRM lists every agent the
call reached, in order, and records each transfer once, although Asterisk's
`BlindTransfer` event comes within milliseconds of the action's response.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from redis.asyncio import Redis

from tests.asterisk.ami import Frame
from tests.asterisk.conftest import AGENT_TOKENS, ASTERISK_REDIS_URL
from tests.asterisk.harness import Caller, Line
from tests.conftest import TEST_KEYS

CONTEXT = {
    "summary": "Cannot sign the VAT return",
    "caller_full_name": "Иванова Мария Петровна",
    "org_inn": "7707083893",
}


def _as(agent: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {AGENT_TOKENS[agent]}"}


class Pops:
    """The agents' screen pops, read from Redis pub/sub as the agent desk's SSE does."""

    def __init__(self, redis: Redis) -> None:
        self.pubsub = redis.pubsub()

    async def listen(self, *agents: str) -> None:
        await self.pubsub.subscribe(*(TEST_KEYS.agent_events(a) for a in agents))

    async def next(self, agent: str, timeout_s: float = 30.0) -> dict[str, Any]:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while loop.time() < deadline:
            message = await self.pubsub.get_message(ignore_subscribe_messages=True, timeout=1)
            if message is not None and message["channel"].decode() == TEST_KEYS.agent_events(agent):
                return json.loads(message["data"])
        raise TimeoutError(f"no screen pop for {agent}")


@pytest.fixture
async def pops() -> AsyncIterator[Pops]:
    redis = Redis.from_url(ASTERISK_REDIS_URL)
    watcher = Pops(redis)
    try:
        yield watcher
    finally:
        await watcher.pubsub.aclose()
        await redis.aclose()


async def _phone(line: Line, agent: str, answer_s: float = 1) -> None:
    """An agent who is no queue member: a transfer target dials their phone directly."""
    await line.ami.action("DBPut", Family=f"harness/{agent}", Key="answer_s", Val=str(answer_s))


async def _answered_by(line: Line, caller: Caller, agent: str) -> Frame:
    """The moment `agent`'s phone answered the caller: `AgentConnect` in a queue, or the
    `DialEnd ANSWER` of a target's Dial; returns the frame (its channel is the agent's).
    After a Dial's answer the agent's channel enters the caller's bridge a moment later:
    a BlindTransfer of it before then is `Result: Invalid` (seen once in CI), so this waits
    for that `BridgeEnter` too."""
    frame = await line.ami.wait_for(
        lambda f: (
            f.get("Linkedid") == caller.linkedid
            and (
                (f.event == "AgentConnect" and f.get("MemberName") == agent)
                or (
                    f.event == "DialEnd"
                    and f.get("DialStatus") == "ANSWER"
                    and f.get("DestChannel").startswith(f"Local/{agent}@")
                )
            )
        ),
        timeout_s=60,
    )
    if frame.event == "DialEnd":
        dest = frame.get("DestChannel")
        await line.ami.wait_for(
            lambda f: f.event == "BridgeEnter" and f.get("Channel") == dest, timeout_s=10
        )
    return frame


def _agent_channel(frame: Frame) -> str:
    """The agent's side of the bridge with the caller (the Local half the queue or Dial
    made: a BlindTransfer of it transfers the caller)."""
    return frame.get("DestChannel") or frame.get("MemberChannel")


async def _transfer(line: Line, caller: Caller, agent: str, to: str, **context: str) -> Any:
    return await line.crm.post(
        f"/api/calls/{caller.linkedid}/transfers",
        json={"to": to, "mode": "blind", **CONTEXT, **context},
        headers=_as(agent),
    )


def _ended(call: dict[str, Any]) -> bool:
    return call["ended_at"] is not None


async def test_api_transfers_two_go_the_third_is_refused_to_the_agent_on_the_call(
    line: Line, pops: Pops
) -> None:
    await line.add_agent("agent01", answer_s=1)
    await _phone(line, "agent02")
    await line.add_agent("agent03", answer_s=1, queue="support")
    await pops.listen("agent02", "agent03")
    caller = await line.call("79000000011", "Carol")
    await _answered_by(line, caller, "agent01")
    first = await line.crm_call(caller, lambda c: c["agent"] == "agent01")
    uin = first["uin"]

    # 1: agent01 -> 202 (agent02's phone). The BlindTransfer event follows the response
    # within milliseconds: the API's record and the recorder's are one (no 500).
    made = await _transfer(line, caller, "agent01", "202")
    assert made.status_code == 201, made.text
    assert made.json()["n"] == 1
    pop = await pops.next("agent02")
    assert (pop["uin"], pop["n"], pop["from_agent"]) == (uin, 1, "agent01")
    assert {k: pop[k] for k in CONTEXT} == CONTEXT
    await _answered_by(line, caller, "agent02")

    # 2: agent02 -> 300 (the support queue); agent03's phone rings with the context.
    made = await _transfer(line, caller, "agent02", "300", summary="Needs the second line")
    assert made.status_code == 201, made.text
    assert made.json()["n"] == 2
    pop = await pops.next("agent03")
    assert pop["uin"] == uin and pop["summary"] == "Needs the second line"
    assert pop["caller_full_name"] == CONTEXT["caller_full_name"]
    assert pop["org_inn"] == CONTEXT["org_inn"]
    await _answered_by(line, caller, "agent03")
    await line.crm_call(caller, lambda c: c["agent"] == "agent03")

    # 3: refused. agent01 no longer has the caller (403); agent03, who has, gets the 409.
    stranger = await _transfer(line, caller, "agent01", "201")
    assert stranger.status_code == 403, stranger.text
    refused = await _transfer(line, caller, "agent03", "201", summary="third: never made")
    assert refused.status_code == 409, refused.text
    assert refused.json()["detail"] == "transfer limit reached (2)"
    context = await line.crm.get(f"/api/calls/{caller.linkedid}/context")
    assert context.status_code == 200, context.text
    assert (context.json()["summary"], context.json()["count"]) == ("Needs the second line", 2)
    assert context.json()["refused"] == 1
    assert len(line.ami.events("BlindTransfer")) == 2  # nothing sent to Asterisk

    await line.hang_up(caller)
    call = await line.crm_call(caller, _ended)
    assert call["transfer_count"] == 2
    assert (call["agent"], call["agents"]) == ("agent03", ["agent01", "agent02", "agent03"])
    chain = await line.crm.get(f"/api/tickets/{uin}/transfers")
    rows = [(r["n"], r["from_agent"], r["to"], r["how"], r["outcome"]) for r in chain.json()]
    assert rows == [
        (1, "agent01", "202", "api", "completed"),
        (2, "agent02", "300", "api", "completed"),
    ]


async def test_phone_transfers_two_go_the_third_goes_back_to_the_agent(
    line: Line, pops: Pops
) -> None:
    await line.add_agent("agent01", answer_s=1)
    await _phone(line, "agent02")
    await line.add_agent("agent03", answer_s=1, queue="support")
    await pops.listen("agent02", "agent03")
    caller = await line.call("79000000012", "Dmitry")
    connect = await _answered_by(line, caller, "agent01")
    await line.crm_call(caller, lambda c: c["agent"] == "agent01")
    # The agent files the context, then transfers from the phone: as the phone's blind
    # transfer does, into TRANSFER_CONTEXT ([hotline-transfer], the AGI route decides).
    filed = await line.crm.put(
        f"/api/calls/{caller.linkedid}/context", json=CONTEXT, headers=_as("agent01")
    )
    assert filed.status_code == 200, filed.text
    await line.ami.action(
        "BlindTransfer", Channel=_agent_channel(connect), Context="hotline-transfer", Exten="202"
    )
    pop = await pops.next("agent02")
    assert pop["n"] == 1 and pop["summary"] == CONTEXT["summary"]
    dial = await _answered_by(line, caller, "agent02")

    await line.ami.action(
        "BlindTransfer", Channel=dial.get("DestChannel"), Context="hotline-transfer", Exten="300"
    )
    pop = await pops.next("agent03")
    assert pop["summary"] == CONTEXT["summary"]
    connect = await _answered_by(line, caller, "agent03")
    await line.crm_call(caller, lambda c: c["agent"] == "agent03")

    # The third: the route refuses it, plays transfer-limit and the dialplan rings the
    # agent who tried (agent03) back: the caller is kept. (The queue's own ringing of
    # agent03 was a DialEnd ANSWER too: only frames from here on count.)
    mark = len(line.ami.frames)
    await line.ami.action(
        "BlindTransfer", Channel=_agent_channel(connect), Context="hotline-transfer", Exten="201"
    )
    back = await line.ami.wait_for(
        lambda f: (
            f.event == "DialEnd"
            and f.get("Linkedid") == caller.linkedid
            and f.get("DialStatus") == "ANSWER"
            and f.get("DestChannel").startswith("Local/agent03@")
        ),
        timeout_s=60,
        since=mark,
    )
    assert back.get("Channel") == caller.channel
    assert any(
        "transfer-limit" in f.get("Command")
        for f in line.ami.events("AGIExecStart", Channel=caller.channel, Exten="201")
    ), "the caller heard why"
    assert not any(f.get("Channel") == caller.channel for f in line.ami.events("Hangup")), (
        "the caller was kept"
    )
    context = (await line.crm.get(f"/api/calls/{caller.linkedid}/context")).json()
    assert (context["count"], context["refused"]) == (2, 1)
    await line.hang_up(caller)
    call = await line.crm_call(caller, _ended)
    assert call["transfer_count"] == 2
    assert call["agents"][:3] == ["agent01", "agent02", "agent03"]
    chain = await line.crm.get(f"/api/tickets/{call['uin']}/transfers")
    assert [(r["n"], r["how"], r["to"], r["from_agent"]) for r in chain.json()] == [
        (1, "blind", "202", "agent01"),
        (2, "blind", "300", "agent02"),
    ]


async def test_api_attended_transfer_counts_when_the_agent_completes_it(
    line: Line, pops: Pops
) -> None:
    await line.add_agent("agent01", answer_s=1)
    await _phone(line, "agent02")
    await pops.listen("agent02")
    caller = await line.call("79000000013", "Elena")
    connect = await _answered_by(line, caller, "agent01")
    await line.crm_call(caller, lambda c: c["agent"] == "agent01")
    made = await line.crm.post(
        f"/api/calls/{caller.linkedid}/transfers",
        json={"to": "agent02", "mode": "attended", **CONTEXT},
        headers=_as("agent01"),
    )
    assert made.status_code == 201, made.text
    assert (made.json()["n"], made.json()["counted"]) == (1, False)
    pop = await pops.next("agent02")  # it rings with the context on the screen
    assert pop["summary"] == CONTEXT["summary"] and pop["n"] == 1
    await line.ami.wait_for(
        lambda f: (
            f.event == "DialEnd"
            and f.get("DialStatus") == "ANSWER"
            and f.get("DestChannel").startswith("Local/agent02@")
        ),
        timeout_s=60,
    )
    # agent01 hangs up after the consultation: the attended transfer completes.
    await line.ami.action("Hangup", Channel=_agent_channel(connect))
    await line.ami.wait_for(
        lambda f: f.event == "AttendedTransfer" and f.get("Result") == "Success", timeout_s=30
    )
    call = await line.crm_call(caller, lambda c: c["transfer_count"] == 1)
    chain = await line.crm.get(f"/api/tickets/{call['uin']}/transfers")
    assert [(r["n"], r["from_agent"], r["to"], r["mode"], r["outcome"]) for r in chain.json()] == [
        (1, "agent01", "202", "attended", "completed")
    ]
    await line.hang_up(caller)
    call = await line.crm_call(caller, _ended)
    assert (call["agent"], call["agents"]) == ("agent02", ["agent01", "agent02"])


async def test_a_redirect_out_of_the_queue_bridge_into_another_queue(line: Line) -> None:
    """AMI `Redirect` of the caller into `support`: the first queue's `AgentComplete`
    comes only when the call ends, with `Reason: caller`; Hotline still records one
    transfer (a Redirect), both agents in order, and the first entry completed then."""
    await line.add_agent("agent01", answer_s=1)
    await line.add_agent("agent03", answer_s=1, queue="support")
    caller = await line.call("79000000014", "Fyodor")
    await _answered_by(line, caller, "agent01")
    await line.crm_call(caller, lambda c: c["agent"] == "agent01")
    reply = await line.ami.action(
        "Redirect", Channel=caller.channel, Context="hotline-targets", Exten="300", Priority="1"
    )
    assert reply.get("Response") == "Success", reply.headers
    await _answered_by(line, caller, "agent03")
    assert not line.ami.events("AgentComplete", Queue="hotline"), "not before the call ends"
    await line.crm_call(caller, lambda c: c["agent"] == "agent03")
    await line.hang_up(caller)
    first = await line.agent_complete(caller, "agent01")
    assert first.get("Reason") == "caller"
    call = await line.crm_call(caller, _ended)
    assert call["transfer_count"] == 1
    assert (call["agent"], call["agents"]) == ("agent03", ["agent01", "agent03"])
    chain = await line.crm.get(f"/api/tickets/{call['uin']}/transfers")
    assert [(r["n"], r["how"], r["to"], r["from_agent"]) for r in chain.json()] == [
        (1, "redirect", "300", "agent01")
    ]


async def test_phone_attended_transfer_through_the_route(line: Line, pops: Pops) -> None:
    """The agent's phone's attended transfer (`*2` and the extension): the consultation is
    a Local channel into TRANSFER_CONTEXT, where the AGI route takes the agent's slot; it
    counts once Asterisk reports the transfer done (the harness gives the extension in
    TRANSFER_EXTEN, as `Atxfer`'s queued digits are eaten by the transfer prompt)."""
    await line.add_agent("agent01", answer_s=1)
    await _phone(line, "agent02")
    await pops.listen("agent02")
    caller = await line.call("79000000015", "Galina")
    connect = await _answered_by(line, caller, "agent01")
    await line.crm_call(caller, lambda c: c["agent"] == "agent01")
    filed = await line.crm.put(
        f"/api/calls/{caller.linkedid}/context", json=CONTEXT, headers=_as("agent01")
    )
    assert filed.status_code == 200, filed.text
    agent01 = _agent_channel(connect)
    await line.ami.action("Setvar", Channel=agent01, Variable="TRANSFER_EXTEN", Value="202")
    await line.ami.action("Atxfer", Channel=agent01, Context="hotline-transfer", Exten="202")
    pop = await pops.next("agent02")  # the route pops it as the consultation rings
    assert pop["summary"] == CONTEXT["summary"] and pop["n"] == 1
    await line.ami.wait_for(
        lambda f: (
            f.event == "DialEnd"
            and f.get("DialStatus") == "ANSWER"
            and f.get("DestChannel").startswith("Local/agent02@")
        ),
        timeout_s=60,
    )
    await line.ami.action("Hangup", Channel=agent01)
    await line.ami.wait_for(
        lambda f: f.event == "AttendedTransfer" and f.get("Result") == "Success", timeout_s=30
    )
    call = await line.crm_call(caller, lambda c: c["transfer_count"] == 1)
    context = (await line.crm.get(f"/api/calls/{caller.linkedid}/context")).json()
    assert (context["count"], context["refused"]) == (1, 0)
    chain = await line.crm.get(f"/api/tickets/{call['uin']}/transfers")
    assert [(r["n"], r["from_agent"], r["to"], r["how"]) for r in chain.json()] == [
        (1, "agent01", "202", "attended")
    ]
    await line.hang_up(caller)
    call = await line.crm_call(caller, _ended)
    assert (call["agent"], call["agents"]) == ("agent02", ["agent01", "agent02"])
