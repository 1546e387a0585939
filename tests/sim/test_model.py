"""The PBX model: queue strategies, timeouts, abandons, wrap-up, transfers, AGI, ground truth."""

from __future__ import annotations

import asyncio

from asterisksim import AgentProfile, QueueConfig, SimConfig, SimulatedAsterisk
from asterisksim.scenarios import run_scenario
from asterisksim.transcript import parse

from .conftest import agi_environment, connect


def _config(**queue: object) -> SimConfig:
    return SimConfig(queues=[QueueConfig("hotline", **queue), QueueConfig("support")])


async def test_ringall_rings_everyone_and_cancels_the_rest() -> None:
    async with SimulatedAsterisk(_config(strategy="ringall")) as sim:
        probe = await connect(sim)
        for n, delay_s in ((1, 5), (2, 2), (3, 4)):
            sim.add_agent(f"agent{n}", answer_delay_s=delay_s)
        sim.place_call("79000000001", "Alice")
        await sim.run_for(6)
        await probe.read_until(b"AgentConnect")
        assert len(probe.events("AgentCalled")) == 3
        assert [f["MemberName"] for f in probe.events("AgentConnect")] == ["agent2"]
        cancels = [f for f in probe.events("DialEnd") if f.get("DialStatus") == "CANCEL"]
        assert len(cancels) == 2


async def test_rrmemory_takes_turns() -> None:
    async with SimulatedAsterisk(_config(strategy="rrmemory")) as sim:
        for n in (1, 2, 3):
            sim.add_agent(f"agent{n}", answer_delay_s=1, talk_s=5)
        for _ in range(4):
            sim.place_call("79000000001", "Alice")
            await sim.run_for(10)
        assert [c.agent for c in sim.ground_truth] == ["agent1", "agent2", "agent3", "agent1"]


async def test_fewestcalls_prefers_the_least_busy_member() -> None:
    async with SimulatedAsterisk(_config()) as sim:
        sim.add_agent("agent1", answer_delay_s=1, talk_s=5)
        sim.place_call("79000000001", "Alice")
        await sim.run_for(10)
        sim.add_agent("agent2", answer_delay_s=1, talk_s=5)
        sim.place_call("79000000002", "Bob")
        await sim.run_for(10)
        assert [c.agent for c in sim.ground_truth] == ["agent1", "agent2"]


async def test_ring_timeout_gives_ring_no_answer_then_retries() -> None:
    async with SimulatedAsterisk(_config(timeout_s=15, retry_s=1)) as sim:
        probe = await connect(sim)
        sim.add_agent("agent1", answer_delay_s=20)
        sim.place_call("79000000001", "Alice", patience_s=20)
        await sim.run_for(25)
        await probe.read_until(b"QueueCallerAbandon")
        rna = probe.events("AgentRingNoAnswer")
        assert [f["RingTime"] for f in rna] == ["15"]
        assert len(probe.events("AgentCalled")) == 2  # rung again after `retry`
        abandon = probe.events("QueueCallerAbandon")[0]
        assert abandon["HoldTime"] == "20"
        # The caller left while agent1 rang the second time: CANCEL, no second RingNoAnswer.
        assert probe.events("DialEnd")[-1]["DialStatus"] == "CANCEL"


async def test_patience_abandon_and_ground_truth() -> None:
    async with SimulatedAsterisk() as sim:
        probe = await connect(sim)
        sim.place_call("79000000001", "Alice", patience_s=38.4)
        sim.place_call("79000000002", "Bob", patience_s=50)
        await sim.run_for(60)
        await probe.read_until(b"Position: 1\r\nOriginalPosition: 2")
        first, second = probe.events("QueueCallerAbandon")
        assert (first["Position"], first["OriginalPosition"]) == ("1", "1")
        assert (second["Position"], second["OriginalPosition"]) == ("1", "2")
        assert first["HoldTime"] == "38"  # whole seconds of a truncated clock
        truth = sim.ground_truth
        assert [c.outcome for c in truth] == ["abandoned", "abandoned"]
        assert abs(truth[0].wait_s - 38.4) < 1e-6
        queue = sim.pbx.queues["hotline"]
        assert (queue.abandoned, queue.abandoned_in_sl) == (2, 1)


async def test_wrapup_keeps_a_member_away() -> None:
    async with SimulatedAsterisk(_config(wrapuptime_s=10)) as sim:
        sim.add_agent("agent1", answer_delay_s=1, talk_s=5)
        sim.place_call("79000000001", "Alice")
        await sim.run_for(3)
        sim.place_call("79000000002", "Bob")  # joins at +3; agent1 free at +6, wrap-up to +16
        await sim.run_for(30)
        second = sim.ground_truth[1].visits[0]
        assert second.agent == "agent1"
        assert 13.0 <= second.wait_s <= 15.0  # next retry tick after +16, plus 1 s to answer


async def test_service_level_perf_as_app_queue_counts_it() -> None:
    async with SimulatedAsterisk() as sim:
        sim.add_agent("agent1", answer_delay_s=41, talk_s=5)  # answers outside 40 s
        sim.pbx.queues["hotline"].config.timeout_s = 60
        sim.place_call("79000000001", "Alice")
        await sim.run_for(50)
        sim.pbx.agents["agent1"].answer_delay_s = 1
        sim.place_call("79000000002", "Bob")
        await sim.run_for(10)
        sim.pause_agent("agent1", True, "lunch")
        sim.place_call("79000000003", "Carol", patience_s=3)
        await sim.run_for(10)
        queue = sim.pbx.queues["hotline"]
        assert (queue.completed, queue.completed_in_sl, queue.abandoned) == (2, 1, 1)
        assert f"{queue.sl_perf:.1f}" == "50.0"
        assert f"{queue.sl_perf2:.1f}" == "66.7"
        assert queue.holdtime_s == (41 * 3 + 1) >> 2  # running average, 1/4 weight on new


async def test_agi_unreachable_gives_failure_and_the_call_goes_on() -> None:
    listener = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = listener.sockets[0].getsockname()[1]
    listener.close()
    await listener.wait_closed()
    config = SimConfig(agi_url=f"agi://127.0.0.1:{port}/hotline")
    async with SimulatedAsterisk(config) as sim:
        probe = await connect(sim)
        sim.add_agent("agent1")
        sim.place_call("79000000001", "Alice")
        await sim.run_for(5)
        await probe.read_until(b"AgentConnect")
        assert sim.ground_truth[0].agi_status == "FAILURE"
        assert sim.ground_truth[0].outcome == "answered"


async def test_agi_server_back_within_the_tries_gives_the_caller_its_session() -> None:
    """[hotline-in] tries a FAILing AGI (no server) again a second later, `agi_tries` in
    all: a server that starts 1.5 s after the call's first try gets the third."""
    sessions: list[float] = []
    requests: list[str] = []

    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        for line in await agi_environment(reader):
            if line.startswith("agi_request: "):
                requests.append(line.removeprefix("agi_request: "))
        sessions.append(sim.clock.now())
        writer.write(b"SET VARIABLE __UIN 12345678\n")
        await writer.drain()
        await reader.readline()
        writer.close()

    listener = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = listener.sockets[0].getsockname()[1]
    listener.close()
    await listener.wait_closed()
    config = SimConfig(
        agi_url=f"agi://127.0.0.1:{port}/hotline?linkedid=${{CHANNEL(linkedid)}}",
        agi_tries=4,
        agi_retry_wait_s=1.0,
    )
    async with SimulatedAsterisk(config) as sim:
        probe = await connect(sim)
        sim.add_agent("agent1")
        sim.place_call("79000000001", "Alice")
        started = sim.clock.now()
        await sim.run_for(1.5)
        server = await asyncio.start_server(script, "127.0.0.1", port)
        await sim.run_for(5)
        await probe.read_until(b"AgentConnect")
        server.close()
        truth = sim.ground_truth[0]
    assert truth.agi_status == "SUCCESS"
    # The dialplan's ${CHANNEL(linkedid)} reaches the AGI as the call's Linkedid.
    assert requests == [f"agi://127.0.0.1:{port}/hotline?linkedid={truth.linkedid}"]
    assert len(sessions) == 1 and 1.9 <= sessions[0] - started <= 2.6  # the third try
    assert truth.outcome == "answered"


async def test_agi_server_gone_for_good_costs_the_caller_the_tries_then_queues() -> None:
    listener = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = listener.sockets[0].getsockname()[1]
    listener.close()
    await listener.wait_closed()
    config = SimConfig(agi_url=f"agi://127.0.0.1:{port}/hotline", agi_tries=4)
    async with SimulatedAsterisk(config) as sim:
        sim.place_call("79000000001", "Alice")
        await sim.run_for(6)
        truth = sim.ground_truth[0]
    assert truth.agi_status == "FAILURE"
    (visit,) = truth.visits
    # Three waits of a second between the four tries (and Answer()'s moment before them).
    assert 3.0 <= visit.joined_at - truth.started_at <= 3.6


async def test_agi_missing_prompt_ends_the_agi_with_failure() -> None:
    seen: list[str] = []

    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        seen.extend(await agi_environment(reader))
        for command in ("SET VARIABLE __UIN 12345678", 'STREAM FILE no-such-prompt ""', "NOOP"):
            writer.write(command.encode() + b"\n")
            await writer.drain()
            seen.append((await reader.readline()).decode().strip())
        writer.close()

    agi = await asyncio.start_server(script, "127.0.0.1", 0)
    port = agi.sockets[0].getsockname()[1]
    config = SimConfig(agi_url=f"agi://127.0.0.1:{port}/hotline", channelvars=("UIN",))
    async with SimulatedAsterisk(config) as sim:
        probe = await connect(sim)
        sim.add_agent("agent1")
        sim.place_call("79000000001", "Alice")
        await sim.run_for(5)
        await probe.read_until(b"AgentConnect")
    agi.close()
    assert f"agi_request: agi://127.0.0.1:{port}/hotline" in seen
    assert "agi_arg_1: 100" in seen
    assert seen[-3:] == ["200 result=1", "200 result=-1 endpos=0", ""]  # NOOP never answered
    assert sim.ground_truth[0].agi_status == "FAILURE"
    ends = probe.events("AGIExecEnd")
    assert [f["Command"] for f in ends] == [
        "SET VARIABLE __UIN 12345678",
        'STREAM FILE no-such-prompt ""',
    ]
    connect_ev = probe.events("AgentConnect")[0]
    assert ("DestChanVariable", "UIN=12345678") in connect_ev.headers


async def test_redirect_transfers_make_no_transfer_event() -> None:
    run = await run_scenario("redirect-transfer-twice")
    frames = parse(run.received)[1]
    names = [f.event for f in frames]
    assert "BlindTransfer" not in names and "AttendedTransfer" not in names
    # As on a real Asterisk 22.10 (tests/asterisk/test_sim_vs_real.py): the queue call the
    # caller was redirected out of closes only when the caller's call ends, after the
    # last queue's, with Reason caller and no caller channel headers.
    completes = [f for f in frames if f.event == "AgentComplete"]
    assert [(f["Queue"], f["MemberName"], f["Reason"]) for f in completes] == [
        ("support", "agent3", "caller"),
        ("hotline", "agent1", "caller"),
    ]
    assert "Channel" in completes[0] and "Channel" not in completes[1]
    assert completes[1]["TalkTime"] == "13"  # from agent1's answer to the caller's end
    hangups = [f["Channel"] for f in frames if f.event == "Hangup"]
    assert hangups.index("Local/agent1@agents-00000001;1") < names.index("AgentComplete")
    assert [t.kind for t in run.truth[0].transfers] == ["redirect", "redirect"]
    assert run.truth[0].visits[-1].queue == "support"


async def test_attended_transfer_cancel_returns_the_caller_to_agent1() -> None:
    run = await run_scenario("attended-transfer-cancel")
    frames = parse(run.received)[1]
    assert not [f for f in frames if f.event == "AttendedTransfer"]
    dial_ends = [f.get("DialStatus") for f in frames if f.event == "DialEnd"]
    assert "CANCEL" in dial_ends
    complete = [f for f in frames if f.event == "AgentComplete"]
    assert [(f["MemberName"], f["Reason"], f["TalkTime"]) for f in complete] == [
        ("agent1", "caller", "7")
    ]
    assert run.truth[0].transfers == []


async def test_blind_transfer_truth() -> None:
    run = await run_scenario("blind-transfer-twice")
    truth = run.truth[0]
    assert [(t.kind, t.from_agent, t.to) for t in truth.transfers] == [
        ("blind", "agent1", "transfer-targets/200"),
        ("blind", "agent2", "transfer-targets/300"),
    ]
    assert [(v.queue, v.agent) for v in truth.visits] == [
        ("hotline", "agent1"),
        ("support", "agent3"),
    ]


async def test_real_clock_runs_in_wall_time() -> None:
    async with SimulatedAsterisk(accelerated=False) as sim:
        probe = await connect(sim)
        sim.add_agent("agent1", answer_delay_s=0.2)
        sim.place_call("79000000001", "Alice")
        await probe.read_until(b"AgentConnect", timeout_s=3)
        assert sim.ground_truth[0].outcome == "answered"
        assert 0.15 < sim.ground_truth[0].wait_s < 1.5


async def test_attended_transfer_truth_is_recorded_on_completion() -> None:
    run = await run_scenario("attended-transfer")
    transfers = run.truth[0].transfers
    assert [(t.kind, t.from_agent, t.to) for t in transfers] == [
        ("attended", "agent1", "transfer-targets/201")
    ]
    assert transfers[0].at_s == run.truth[0].started_at + 9  # when agent1 hung up


async def test_agi_commands_answer_like_asterisk() -> None:
    """ANSWER, EXEC, a bad GET DATA, an unknown command, then HANGUP ends the call."""
    replies: list[str] = []

    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await agi_environment(reader)
        commands = ("ANSWER", "EXEC Playback beep", "GET DATA beep x 3", "FLY AWAY",
                    "GET DATA beep 3000 4", "HANGUP")  # fmt: skip
        for command in commands:
            writer.write(command.encode() + b"\n")
            await writer.drain()
            replies.append((await reader.readline()).decode().strip())
        writer.close()

    agi = await asyncio.start_server(script, "127.0.0.1", 0)
    port = agi.sockets[0].getsockname()[1]
    async with SimulatedAsterisk(SimConfig(agi_url=f"agi://127.0.0.1:{port}/x")) as sim:
        sim.add_agent("agent1")
        sim.place_call("79000000001", "Alice", dtmf="12#")
        await sim.run_for(10)
    agi.close()
    assert replies == [
        "200 result=0",
        "200 result=0",
        "520 Invalid command syntax.  Proper usage not available.",
        "510 Invalid or unknown command",
        "200 result=12",
        "200 result=1",
    ]
    truth = sim.ground_truth[0]
    assert truth.outcome == "ivr_hangup" and not truth.visits  # never reached the queue


async def test_ringinuse_no_spans_queues() -> None:
    """An agent talking on a `hotline` call is not rung for `support` (ringinuse=no)."""
    async with SimulatedAsterisk() as sim:
        sim.add_agent("agent1", "hotline", answer_delay_s=1, talk_s=20)
        sim.add_agent("agent1", "support", answer_delay_s=1, talk_s=20)
        first = sim.place_call("79000000001", "Alice")
        await sim.run_for(2)
        sim.config.entry_queue = "support"  # Bob's call goes to the other queue
        sim.place_call("79000000002", "Bob")
        await sim.run_for(40)
        assert first.truth.visits[0].agent == "agent1"
        (bob,) = sim.ground_truth[1].visits
        assert bob.queue == "support" and bob.agent == "agent1"
        assert bob.answered_at >= first.truth.ended_at  # only once Alice's call was over


async def test_agent_hangs_up_after_an_attended_transfer() -> None:
    """The transfer target ends the call: every channel, the Local pair in between too, ends."""
    async with SimulatedAsterisk() as sim:
        probe = await connect(sim)
        sim.add_agent("agent1", answer_delay_s=1)
        sim.pbx.agents["agent3"] = AgentProfile(answer_delay_s=1, talk_s=4)
        call = sim.place_call("79000000001", "Alice")
        await sim.run_for(2)
        assert call.leg is not None
        sim.pbx.atxfer(call.leg.one.name, "transfer-targets", "201")
        await sim.run_for(2)
        sim.pbx.hangup(call.leg.one.name)  # agent1 completes the transfer
        await sim.run_for(10)
        await probe.read_until(b"AttendedTransfer")
        assert call.state == "gone"
        assert not [c for c in sim.pbx.factory.by_name.values() if not c.hung_up]
        names = [f.get("Channel") for f in probe.events("Hangup")]
        assert len(names) == len(set(names)) == 8  # caller, agent1, 201 pair, agent3: 2 each


async def test_recordings_are_reproducible() -> None:
    first = await run_scenario("attended-transfer")
    again = await run_scenario("attended-transfer")
    assert first.received == again.received


async def test_queue_status_wait_counts_clock_seconds_as_app_queue_does() -> None:
    """`Wait` is `now - qe->start` of two time(NULL) readings (apps/app_queue.c,
    manager_queues_status), like HoldTime: 0.85 s across a second's edge reads 1 (the
    simulator said 0), 1.9 s within two reads 1."""
    from asterisksim.status import queue_status

    def wait_shown(sim: SimulatedAsterisk) -> int:
        text = queue_status(sim.pbx, None, "hotline", None).decode()
        (line,) = [line for line in text.splitlines() if line.startswith("Wait: ")]
        return int(line.removeprefix("Wait: "))

    async with SimulatedAsterisk() as sim:
        sim.place_call("79000000001", "Alice", patience_s=100)
        await sim.run_for(0.5)
        join_s = sim.pbx.queues["hotline"].entries[0].join_s
        assert 0.05 < join_s % 1 < 0.95, "the join is not at a second's edge"
        await sim.run_for(int(join_s) + 1.02 - sim.clock.now())
        assert sim.clock.now() - join_s < 1
        assert wait_shown(sim) == 1
        await sim.run_for(int(join_s) + 1.98 - sim.clock.now())
        assert sim.clock.now() - join_s > 1
        assert wait_shown(sim) == 1
