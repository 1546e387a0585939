"""An agent's phone transferring blind through TRANSFER_CONTEXT ([hotline-transfer]):
the AGI `transfer` decides; allowed goes on to the target, refused rings the agent back,
an unreachable AGI server sends the caller back to the queue. A scripted FastAGI server
stands in for Hotline's route here (the real one: tests/transfers)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from asterisksim import SimConfig, SimulatedAsterisk
from asterisksim.calls import Call

from .conftest import AmiProbe, connect

CONTEXT = "hotline-transfer"


@asynccontextmanager
async def scripted_agi(
    answer: Callable[[dict[str, str]], list[str]],
) -> AsyncIterator[tuple[int, list[dict[str, str]], list[str]]]:
    """A FastAGI server: per request, the environment is kept and `answer(env)` sent."""
    envs: list[dict[str, str]] = []
    replies: list[str] = []

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        env: dict[str, str] = {}
        while line := (await reader.readline()).decode().strip():
            key, _, value = line.partition(": ")
            env[key] = value
        envs.append(env)
        for command in answer(env):
            writer.write(command.encode() + b"\n")
            await writer.drain()
            replies.append((await reader.readline()).decode().strip())
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1], envs, replies
    finally:
        server.close()
        await server.wait_closed()


def _config(port: int | None) -> SimConfig:
    url = f"agi://127.0.0.1:{port}/transfer" if port is not None else None
    return SimConfig(
        transfer_context=CONTEXT,
        transfer_agi_url=url,
        prompts=frozenset({"hotline/transfer-limit"}),
    )


async def _answered(sim: SimulatedAsterisk) -> tuple[Call, AmiProbe]:
    probe = await connect(sim)
    sim.add_agent("agent1", answer_delay_s=2)
    sim.add_agent("agent4", "support", answer_delay_s=2)
    call = sim.place_call("79000000001", "Alice")
    await sim.run_for(5)
    assert call.state == "bridged" and call.leg is not None
    return call, probe


async def test_an_allowed_phone_transfer_goes_on_to_the_target() -> None:
    def allow(env: dict[str, str]) -> list[str]:
        return ["GET VARIABLE BLINDTRANSFER", 'SET VARIABLE TRANSFER_ALLOWED "1"']

    async with scripted_agi(allow) as (port, envs, replies):
        async with SimulatedAsterisk(_config(port)) as sim:
            call, probe = await _answered(sim)
            agent_channel = call.leg.one.name
            # The agent inherited the caller's __TRANSFER_CONTEXT.
            assert call.leg.one.get_var("TRANSFER_CONTEXT") == CONTEXT
            sim.pbx.phone_blind_transfer(agent_channel, "300")
            await sim.run_for(5)
            await probe.read_until(b"MemberName: agent4\r\nHoldTime")
            assert call.leg is not None and call.leg.agent == "agent4"
    (env,) = envs
    assert env["agi_network_script"] == "transfer"
    assert env["agi_arg_1"] == "300"
    assert env["agi_channel"] == call.two.name
    assert env["agi_context"] == CONTEXT
    assert replies[0] == f"200 result=1 ({agent_channel})"
    (event,) = probe.events("BlindTransfer")
    assert (event["Context"], event["Extension"], event["IsExternal"]) == (CONTEXT, "300", "No")
    assert event["TransfererChannel"] == agent_channel
    assert [(t.kind, t.from_agent, t.to) for t in call.truth.transfers] == [
        ("blind", "agent1", "hotline-targets/300")
    ]
    assert call.truth.refused_transfers == []
    joins = [f["Queue"] for f in probe.events("QueueCallerJoin")]
    assert joins == ["hotline", "support"]


async def test_a_refused_phone_transfer_rings_the_agent_back() -> None:
    def refuse(env: dict[str, str]) -> list[str]:
        return ['SET VARIABLE TRANSFER_ALLOWED "0"', 'STREAM FILE "hotline/transfer-limit" ""']

    async with scripted_agi(refuse) as (port, _envs, replies):
        async with SimulatedAsterisk(_config(port)) as sim:
            call, probe = await _answered(sim)
            sim.pbx.phone_blind_transfer(call.leg.one.name, "300")
            await sim.run_for(5)
            await probe.read_until(b"DialStatus: ANSWER")
            # Back with the agent who tried, by a plain Dial: not a new queue call.
            assert call.state == "bridged" and call.leg is not None
            assert call.leg.agent == "agent1" and call.leg.member is None
            assert call.two.bridge_id == call.bridge_id
    assert replies == ["200 result=1", "200 result=0 endpos=8000"]
    assert [f["Queue"] for f in probe.events("QueueCallerJoin")] == ["hotline"]
    dials = [f["DialString"] for f in probe.events("DialBegin")]
    assert dials[-1] == "agent1@agents"
    assert call.truth.transfers == []
    assert [(t.from_agent, t.to) for t in call.truth.refused_transfers] == [
        ("agent1", f"{CONTEXT}/300")
    ]
    assert len(probe.events("BlindTransfer")) == 1  # Asterisk reports the try itself


async def test_a_refused_transfer_to_a_busy_agent_goes_back_to_the_queue() -> None:
    def refuse(env: dict[str, str]) -> list[str]:
        return ['SET VARIABLE TRANSFER_ALLOWED "0"']

    async with scripted_agi(refuse) as (port, _envs, _replies):
        async with SimulatedAsterisk(_config(port)) as sim:
            call, _probe = await _answered(sim)
            agent = call.leg.agent
            sim.pbx.phone_blind_transfer(call.leg.one.name, "300")
            # While the route runs, the agent's phone takes another call.
            sim.pbx.busy.add(f"Local/{agent}@agents/n")
            await sim.run_for(1)
            assert call.state == "queued"
            assert call.entry is not None and call.entry.queue.name == "hotline"


async def test_an_unreachable_agi_server_sends_the_caller_back_to_the_queue() -> None:
    listener = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = listener.sockets[0].getsockname()[1]
    listener.close()
    await listener.wait_closed()
    async with SimulatedAsterisk(_config(port)) as sim:
        call, probe = await _answered(sim)
        sim.add_agent("agent2", answer_delay_s=2)
        sim.pbx.phone_blind_transfer(call.leg.one.name, "300")
        await sim.run_for(5)
        # `back`: Queue(hotline) again, never dropped, never on to the target.
        assert call.two.get_var("AGISTATUS") == "FAILURE"
        assert call.state == "bridged" and call.leg is not None
        assert call.leg.member is not None and call.leg.queue == "hotline"
        await probe.send(Action="Ping", ActionID="after")
        await probe.read_until(b"ActionID: after")
    assert [f["Queue"] for f in probe.events("QueueCallerJoin")] == ["hotline", "hotline"]
    assert call.truth.transfers == [] and call.truth.refused_transfers == []


async def test_without_transfer_context_the_phone_transfer_goes_straight_on() -> None:
    async with SimulatedAsterisk(SimConfig()) as sim:
        call, probe = await _answered(sim)
        sim.pbx.phone_blind_transfer(call.leg.one.name, "300")
        await sim.run_for(5)
        assert call.leg is not None and call.leg.agent == "agent4"
        await probe.send(Action="Ping", ActionID="after")
        await probe.read_until(b"ActionID: after")
    (event,) = probe.events("BlindTransfer")
    assert event["Context"] == "agents"  # the transferer's own context


async def test_the_ami_blind_transfer_action_ignores_transfer_context() -> None:
    """AMI BlindTransfer names its Context (manager.c): the AGI route is not run."""
    async with scripted_agi(lambda env: []) as (port, envs, _replies):
        async with SimulatedAsterisk(_config(port)) as sim:
            call, probe = await _answered(sim)
            await probe.send(
                Action="BlindTransfer",
                ActionID="bt",
                Channel=call.leg.one.name,
                Context="transfer-targets",
                Exten="300",
            )
            await probe.read_until(b"Transfer succeeded")
            await sim.run_for(5)
            await probe.read_until(b"MemberName: agent4\r\nHoldTime")
    assert envs == []
    assert [t.to for t in call.truth.transfers] == ["transfer-targets/300"]
