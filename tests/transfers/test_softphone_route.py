"""The AGI route `transfer` (every softphone transfer passes through it): the limit is
the same counter as the API's, and a third attempt hears "transfer limit reached"."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from agi.server import AgiServer
from agi.transfer_route import TransferRoute
from core.context.model import CallContext
from core.context.notifier import AgentNotifier
from core.context.store import Reservation
from core.facts import CallTransferred
from core.settings import AgiSettings
from crm.models import Call, Transfer
from tests.agi.scripted import environment, replies, run_script
from tests.conftest import TEST_KEYS
from tests.transfers.conftest import CONTEXT, Rig, agent_auth, next_pop, supervisor_auth


@pytest.fixture
async def agi_port(rig: Rig) -> AsyncIterator[int]:
    server = AgiServer(AgiSettings(host="127.0.0.1", port=0, header_timeout_s=1.0))
    server.add_route(
        "transfer",
        TransferRoute(rig.store, AgentNotifier(rig.redis, TEST_KEYS), rig.settings.transfers),
    )
    await server.start()
    try:
        yield server.port
    finally:
        await server.close(grace_s=1.0)


async def _softphone_blind(rig: Rig, port: int, agent_channel: str, linkedid: str, to: str):
    """Asterisk runs the route on the caller's channel in TRANSFER_CONTEXT."""
    env = environment("transfer", channel="Local/100@hotline-in-00000001;2", agi_arg_1=to)
    variables = {
        "CHANNEL(linkedid)": linkedid,
        "BLINDTRANSFER": agent_channel,
        "UIN": "00005555",
    }
    return await run_script(port, env, replies(variables))


async def test_softphone_transfers_count_with_the_api_and_the_third_is_refused(
    rig: Rig, agi_port: int
) -> None:
    call = await rig.call(uin="00005555")
    linkedid = call.two.linkedid
    agent2 = await rig.listen("agent2")

    # 1: the agent's phone, no context filed: it goes, with the UIN and the caller's name.
    channel = await rig.agent_channel(call)
    commands = await _softphone_blind(rig, agi_port, channel, linkedid, "200")
    assert 'SET VARIABLE "__TRANSFER_COUNT" "1"' in commands
    assert 'SET VARIABLE "TRANSFER_ALLOWED" "1"' in commands
    await rig.ami.send_action(
        {
            "Action": "BlindTransfer",
            "Channel": channel,
            "Context": "transfer-targets",
            "Exten": "200",
        }
    )
    await rig.settle(5)
    assert call.leg is not None and call.leg.agent == "agent2"
    pop = await next_pop(agent2)
    assert pop["uin"] == "00005555" and pop["n"] == 1

    # 2: over the API, from agent2.
    second = await rig.crm.post(
        f"/api/calls/{linkedid}/transfers",
        json={"to": "201", "mode": "blind", **CONTEXT},
        headers=agent_auth("agent2"),
    )
    assert second.status_code == 201 and second.json()["n"] == 2
    await rig.settle(5)
    assert call.leg is not None and call.leg.agent == "agent3"

    # 3: the phone again: refused, the agent hears why, the caller stays with agent3.
    commands = await _softphone_blind(rig, agi_port, await rig.agent_channel(call), linkedid, "300")
    assert 'SET VARIABLE "TRANSFER_ALLOWED" "0"' in commands
    assert any(c.startswith('STREAM FILE "hotline/transfer-limit"') for c in commands)
    assert not any("__TRANSFER_COUNT" in c for c in commands)
    ctx = await rig.store.get(linkedid)
    assert ctx is not None and ctx.count == 2

    async with rig.recorder._sessions() as session:
        rows = (await session.execute(select(Transfer).order_by(Transfer.n))).scalars().all()
    assert [(t.n, t.how, t.context_missing) for t in rows] == [
        (1, "blind", True),
        (2, "api", False),
    ]
    assert rows[0].context == {"uin": "00005555", "caller_full_name": "Алиса"}


async def test_an_attended_softphone_transfer_counts_only_when_completed(
    rig: Rig, agi_port: int
) -> None:
    call = await rig.call(uin="00006666")
    linkedid = call.two.linkedid
    agent_channel = await rig.agent_channel(call)
    # Attended: the route runs on the agent's consultation channel, no BLINDTRANSFER.
    env = environment("transfer", channel=agent_channel, agi_arg_1="200")
    commands = await run_script(agi_port, env, replies({"CHANNEL(linkedid)": linkedid}))
    assert 'SET VARIABLE "TRANSFER_ALLOWED" "1"' in commands
    # not yet: it may be cancelled
    assert (await rig.store.get(linkedid) or CallContext()).count == 0
    await rig.ami.send_action(
        {
            "Action": "Atxfer",
            "Channel": agent_channel,
            "Context": "transfer-targets",
            "Exten": "200",
        }
    )
    await rig.settle(5)
    await rig.ami.send_action({"Action": "Hangup", "Channel": agent_channel})
    await rig.settle(2)
    ctx = await rig.store.get(linkedid)
    assert ctx is not None and ctx.count == 1
    assert [link["how"] for link in ctx.chain] == ["attended"]


async def test_a_blind_transfer_reported_before_its_route_runs_counts_once(
    rig: Rig, agi_port: int
) -> None:
    """Asterisk sends `BlindTransfer` before the caller's channel runs the transfer
    context: the route adopts the transfer the event counted."""
    call = await rig.call(uin="00007777")
    linkedid = call.two.linkedid
    channel = await rig.agent_channel(call)
    await rig.ami.send_action(
        {
            "Action": "BlindTransfer",
            "Channel": channel,
            "Context": "transfer-targets",
            "Exten": "200",
        }
    )
    await rig.settle(1)
    assert (await rig.store.get(linkedid) or CallContext()).count == 1
    commands = await _softphone_blind(rig, agi_port, channel, linkedid, "200")
    assert 'SET VARIABLE "__TRANSFER_COUNT" "1"' in commands
    assert 'SET VARIABLE "TRANSFER_ALLOWED" "1"' in commands
    ctx = await rig.store.get(linkedid)
    assert ctx is not None and ctx.count == 1


async def test_context_filed_before_a_softphone_transfer_travels_with_it(
    rig: Rig, agi_port: int
) -> None:
    call = await rig.call(uin="00009999")
    linkedid = call.two.linkedid
    stranger = await rig.crm.put(
        f"/api/calls/{linkedid}/context", json=CONTEXT, headers=agent_auth("agent2")
    )
    assert stranger.status_code == 403
    filed = await rig.crm.put(
        f"/api/calls/{linkedid}/context", json=CONTEXT, headers=agent_auth("agent1")
    )
    assert filed.status_code == 200, filed.text
    assert (filed.json()["uin"], filed.json()["remaining"]) == ("00009999", 2)
    channel = await rig.agent_channel(call)
    await _softphone_blind(rig, agi_port, channel, linkedid, "200")
    await rig.ami.send_action(
        {
            "Action": "BlindTransfer",
            "Channel": channel,
            "Context": "transfer-targets",
            "Exten": "200",
        }
    )
    await rig.settle(5)
    async with rig.recorder._sessions() as session:
        row = (await session.execute(select(Transfer))).scalar_one()
    assert not row.context_missing
    assert row.context == {**CONTEXT, "uin": "00009999"}
    now = await rig.crm.get(f"/api/calls/{linkedid}/context", headers=agent_auth("agent2"))
    assert (now.json()["count"], now.json()["remaining"], now.json()["agent"]) == (1, 1, "agent2")


async def test_a_third_phone_transfer_is_refused_and_the_caller_stays_with_the_agent(
    rig: Rig, agi_port: int
) -> None:
    """End to end: the simulated phones transfer through [hotline-transfer], whose AGI is
    the real route; the tracker and the recorder see Asterisk's BlindTransfer events."""
    config = rig.pbx.config
    config.transfer_context = "hotline-transfer"
    config.transfer_agi_url = f"agi://127.0.0.1:{agi_port}/transfer"
    config.prompts = config.prompts | {"hotline/transfer-limit"}
    call = await rig.call(uin="00008888")
    linkedid = call.two.linkedid
    for exten, agent in (("200", "agent2"), ("201", "agent3")):
        assert call.leg is not None
        rig.pbx.pbx.phone_blind_transfer(call.leg.one.name, exten)
        await rig.settle(5)
        assert call.state == "bridged" and call.leg is not None and call.leg.agent == agent
    assert call.two.get_var("TRANSFER_COUNT") == "2"

    # 3: over the limit. The caller hears why and is rung back to agent3 at once.
    rig.pbx.pbx.phone_blind_transfer(call.leg.one.name, "300")
    await rig.settle(5)
    assert call.two.get_var("TRANSFER_ALLOWED") == "0"
    assert call.state == "bridged" and call.leg is not None and call.leg.agent == "agent3"
    assert [t.from_agent for t in call.truth.refused_transfers] == ["agent3"]
    assert any(
        c.startswith('STREAM FILE "hotline/transfer-limit"') for c in call.truth.agi_commands
    )
    assert call.entry is None  # not queued anew: nobody else took the caller

    ctx = await rig.store.get(linkedid)
    assert ctx is not None and (ctx.count, ctx.refused) == (2, 1)
    async with rig.recorder._sessions() as session:
        rows = (await session.execute(select(Transfer).order_by(Transfer.n))).scalars().all()
        recorded = (
            await session.execute(select(Call.transfer_count).where(Call.linkedid == linkedid))
        ).scalar_one()
    assert [(t.n, t.how, t.to) for t in rows] == [(1, "blind", "200"), (2, "blind", "201")]
    assert recorded == 2  # Asterisk's third BlindTransfer event did not count

    # A day later the live context has expired: the API answers from the CRM's copy.
    rig.pbx.pbx.caller_hangup(call)
    await rig.settle(5)
    await rig.redis.delete(f"{TEST_KEYS.call_context}{linkedid}")
    later = await rig.crm.get(f"/api/calls/{linkedid}/context", headers=supervisor_auth())
    assert later.status_code == 200, later.text
    assert later.json()["count"] == 2 and later.json()["uin"] == "00008888"


async def test_an_attended_phone_transfer_is_the_transferers_on_a_real_asterisk(
    rig: Rig, agi_port: int
) -> None:
    """A real Asterisk runs the route on a Local consultation channel it dialled for the
    transferer (`Local/200@hotline-transfer-...;2`) and names the transferer's channel in
    TRANSFERERNAME: the slot is that agent's, so Asterisk's AttendedTransfer (from that
    agent) completes it instead of counting a second transfer beside a stray slot."""
    call = await rig.call(uin="00007777")
    linkedid = call.two.linkedid
    agent_channel = await rig.agent_channel(call)
    env = environment("transfer", channel="Local/200@hotline-transfer-0000000a;2", agi_arg_1="200")
    variables = {"CHANNEL(linkedid)": linkedid, "TRANSFERERNAME": agent_channel}
    commands = await run_script(agi_port, env, replies(variables))
    assert 'SET VARIABLE "TRANSFER_ALLOWED" "1"' in commands
    done = CallTransferred(
        linkedid=linkedid, n=1, how="attended", from_agent="agent1", to="200",
        dialplan_context="hotline-transfer", at=datetime.now(UTC),
    )  # fmt: skip
    assert await rig.recorder.apply(done)
    ctx = await rig.store.get(linkedid)
    assert ctx is not None and ctx.count == 1
    # No slot is left taken: the second transfer of the call still goes.
    second = Reservation(
        token="api-second", agent="agent2", to="300", mode="blind", how="api",
        at=time.time(), context={},
    )  # fmt: skip
    assert await rig.store.claim(linkedid, second) == (2, 1)
