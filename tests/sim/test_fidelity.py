"""The simulator against the real Asterisk 22 transcripts in tests/fixtures/asterisk/.

Compared, per transcript: the call and queue events (fidelity.KEEP) per channel and in order;
the queue events' values (HoldTime, RingTime, TalkTime, Position, Reason, ...) per caller; the
header names of every compared event type; and QueueParams counters incl. ServicelevelPerf.

Tolerated differences, and why:
- Uniqueid/Linkedid/BridgeUniqueid values and the Local channel counters: they depend on
  everything that ran before on the real box; channel names are compared with the counter
  replaced by the order of first appearance.
- Events the model does not produce: VarSet, Newexten, Cdr, Hold, BridgeMerge, DTMF*,
  SuccessfulAuth (dialplan/cdr/security noise no Hotline component reads; a session with
  `EventMask: call,agent` never sees most of them).
- Background events the model does produce (DeviceStateChange, NewConnectedLine, LocalBridge,
  MusicOnHold*, BridgeCreate/Destroy, Unhold) are checked for layout and volume only (within
  20 % per type, 10 % overall for `call,agent`), not for position; (Soft)HangupRequest are
  also compared per channel, in order with BridgeLeave/Hangup.
- Interleaving *between* channels (each Asterisk channel runs on its own thread; 01 and 02 put
  AgentComplete on either side of the caller's BridgeLeave): events are compared per channel,
  queue events per caller, with that one race settled to a fixed order.
- Header values other than the compared ones (Exten/Priority/ConnectedLine details).
- Timings are the README's, on a clock that starts at x.2 s: e.g. 02 unpauses at +45.5 s, so
  the caller's next 1 s retry tick rings at +46 and agent1 answers at +48 (HoldTime 48).
- The order of channels in CoreShowChannels/Status lists (a hash order in Asterisk).
"""

from __future__ import annotations

import pytest

from asterisksim.scenarios import run_scenario
from asterisksim.sim import SimulatedAsterisk
from asterisksim.transcript import parse, read
from tests.conftest import FIXTURES

from .fidelity import events, header_shapes, per_channel, queue_level, teardown_per_channel

PAIRS = [
    ("01-answered", "answered"),
    ("02-slow-answer-outside-sl", "slow-answer-outside-sl"),
    ("03-abandon", "abandon"),
    ("04-blind-transfer-twice", "blind-transfer-twice"),
    ("05-attended-transfer", "attended-transfer"),
    ("06-status-actions", "status-actions"),
    ("07-fastagi", "fastagi"),
]


@pytest.fixture(scope="module")
def runs() -> dict[str, bytes]:
    import asyncio

    async def all_runs() -> dict[str, bytes]:
        return {name: (await run_scenario(name)).received for _, name in PAIRS}

    return asyncio.run(all_runs())


@pytest.mark.parametrize(("transcript", "scenario"), PAIRS)
def test_same_events_per_channel(runs: dict[str, bytes], transcript: str, scenario: str) -> None:
    real = events((FIXTURES / f"{transcript}.txt").read_bytes())
    sim = events(runs[scenario])
    assert per_channel(sim) == per_channel(real)


@pytest.mark.parametrize(("transcript", "scenario"), PAIRS)
def test_same_queue_events_and_values(
    runs: dict[str, bytes], transcript: str, scenario: str
) -> None:
    real = events((FIXTURES / f"{transcript}.txt").read_bytes())
    assert queue_level(events(runs[scenario])) == queue_level(real)


@pytest.mark.parametrize(("transcript", "scenario"), PAIRS)
def test_same_hangup_requests_per_channel(
    runs: dict[str, bytes], transcript: str, scenario: str
) -> None:
    """Which half of each Local pair gets SoftHangupRequest/HangupRequest, and when."""
    real = read(FIXTURES / f"{transcript}.txt")[1]
    assert teardown_per_channel(parse(runs[scenario])[1]) == teardown_per_channel(real)


@pytest.mark.parametrize(("transcript", "scenario"), PAIRS)
def test_same_header_names(runs: dict[str, bytes], transcript: str, scenario: str) -> None:
    real = header_shapes(events((FIXTURES / f"{transcript}.txt").read_bytes()))
    sim = header_shapes(events(runs[scenario]))
    assert sim == real


@pytest.mark.parametrize(("transcript", "scenario"), PAIRS)
def test_responses_match(runs: dict[str, bytes], transcript: str, scenario: str) -> None:
    """Every action the real run answered gets the same Response/Message from the simulator."""
    banner, real = read(FIXTURES / f"{transcript}.txt")
    sim_banner, sim = parse(runs[scenario])
    assert sim_banner == banner == "Asterisk Call Manager/11.0.0"
    skip: set[str] = set()  # every action of the recordings is modelled

    def answers(frames: list) -> dict[str, tuple[str | None, str | None]]:
        return {
            f["ActionID"].rsplit("-", 1)[1]: (f.get("Response"), f.get("Message"))
            for f in frames
            if "Response" in f and f.event is None and "ActionID" in f
        }

    sent = (FIXTURES / f"{transcript}.sent.txt").read_text().split("\n\n")
    unmodelled = {str(i) for i, block in enumerate(sent, 1) if any(a in block for a in skip)}
    real_answers = {k: v for k, v in answers(real).items() if k not in unmodelled}
    sim_answers = answers(sim)
    assert {k: sim_answers.get(k) for k in real_answers} == real_answers


async def _unrecorded_call(sim: SimulatedAsterisk, transfer: bool, talk_s: float) -> None:
    """One of the README's two calls that ran between the recordings (not in the folder)."""
    sim.add_agent("agentx", "hotline", answer_delay_s=2)
    sim.add_agent("agenty", "support", answer_delay_s=2)
    call = sim.place_call("79000000009", "Unrecorded")
    await sim.run_for(2 + talk_s)
    if transfer:  # "answered within the level in hotline and then answered in support"
        assert call.leg is not None
        sim.pbx.blind_transfer(call.leg.one.name, "transfer-targets", "300")
        await sim.run_for(2 + talk_s)
    sim.pbx.caller_hangup(call)
    for queue, agent in (("hotline", "agentx"), ("support", "agenty")):
        sim.pbx.queues[queue].members.pop(f"Local/{agent}@agents/n")


async def test_cumulative_queue_counters_match_01_to_06() -> None:
    """01-06 ran one after another on one Asterisk: every QueueParams must match.

    The two unrecorded calls are replayed with talk times (5 s, 8 s) inside the only ranges
    that the recorded running averages allow ((3*3+t)>>2 == 3 and (3*4+t)>>2 == 5).
    """
    keys = ("Queue", "Calls", "Holdtime", "TalkTime", "Completed", "Abandoned",
            "ServicelevelPerf", "ServicelevelPerf2")  # fmt: skip
    steps: list[tuple[str, str] | tuple[None, tuple[bool, float]]] = [
        *PAIRS[:4], (None, (True, 5.0)), PAIRS[4], (None, (False, 8.0)), PAIRS[5],
    ]  # fmt: skip
    async with SimulatedAsterisk() as sim:
        for transcript, scenario in steps:
            if transcript is None:
                await _unrecorded_call(sim, *scenario)
                continue
            ran = await run_scenario(scenario, sim)
            real = [f for f in read(FIXTURES / f"{transcript}.txt")[1] if f.event == "QueueParams"]
            got = [f for f in parse(ran.received)[1] if f.event == "QueueParams"]
            assert [[f.get(k) for k in keys] for f in got] == [
                [f.get(k) for k in keys] for f in real
            ], transcript


NOISE = {
    "NewConnectedLine", "LocalBridge", "DeviceStateChange", "MusicOnHoldStart", "MusicOnHoldStop",
    "BridgeCreate", "BridgeDestroy", "SoftHangupRequest", "HangupRequest", "NewCallerid",
    "OriginateResponse", "QueueMemberAdded", "QueueMemberRemoved",
}  # fmt: skip


def _by_class(frames: list) -> int:
    return sum(
        1
        for f in frames
        if f.event and (f.get("Privilege") or "").split(",")[0] in ("call", "agent")
    )


@pytest.mark.parametrize(("transcript", "scenario"), PAIRS)
def test_background_events_have_the_real_layout_and_volume(
    runs: dict[str, bytes], transcript: str, scenario: str
) -> None:
    """The events nobody reads still come in Asterisk's layout and about its numbers."""
    real = read(FIXTURES / f"{transcript}.txt")[1]
    sim = parse(runs[scenario])[1]

    def shapes(frames: list) -> dict[str, set[tuple[str, ...]]]:
        out: dict[str, set[tuple[str, ...]]] = {}
        for f in frames:
            if f.event in NOISE:
                out.setdefault(f.event, set()).add(tuple(f.names))
        return out

    real_shapes, sim_shapes = shapes(real), shapes(sim)
    for event, layouts in sim_shapes.items():
        assert layouts <= real_shapes.get(event, set()), event
    for event in NOISE:
        real_n = sum(1 for f in real if f.event == event)
        sim_n = sum(1 for f in sim if f.event == event)
        assert abs(real_n - sim_n) <= max(2, real_n // 5), event
    # What an `EventMask: call,agent` client gets: within 10 % of the real count.
    assert abs(_by_class(sim) - _by_class(real)) <= _by_class(real) // 10


LISTS = {
    "QueueParams", "QueueMember", "QueueEntry", "QueueStatusComplete", "QueueSummary",
    "QueueSummaryComplete", "CoreShowChannel", "CoreShowChannelsComplete", "Status",
    "StatusComplete",
}  # fmt: skip


def test_status_replies_have_the_real_layout(runs: dict[str, bytes]) -> None:
    """06: QueueStatus, QueueSummary, CoreShowChannels, Status, Command output."""
    import re

    real = read(FIXTURES / "06-status-actions.txt")[1]
    sim = parse(runs["status-actions"])[1]

    def layouts(frames: list) -> dict[str, set[tuple[str, ...]]]:
        out: dict[str, set[tuple[str, ...]]] = {}
        for f in frames:
            if f.event in LISTS:
                out.setdefault(f.event, set()).add(tuple(f.names))
        return out

    assert layouts(sim) == layouts(real)

    def outputs(frames: list) -> list[list[str]]:
        # Counters differ (the real run was cumulative over 01-05): compare the text's shape.
        def shape(line: str) -> str:
            line = re.sub(
                r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", "U", line
            )
            return re.sub(r"\d+(\.\d+)?", "N", re.sub(r"-[0-9a-f]{8};", "-X;", line))

        return [[shape(v) for k, v in f.headers if k == "Output"] for f in frames if "Output" in f]

    real_out, sim_out = outputs(real), outputs(sim)
    assert len(sim_out) == len(real_out) == 3
    assert sim_out[:2] == real_out[:2]  # `queue show hotline`, `queue show`
    assert sorted(sim_out[2]) == sorted(real_out[2])  # concise channel list, any order


def test_fastagi_wire_matches_07() -> None:
    """The FastAGI exchange: same environment keys in the same order, same answers."""
    import asyncio

    wire = (FIXTURES / "07-fastagi.wire.txt").read_text().splitlines()
    real = [(ln[8], ln[11:]) for ln in wire if not ln.startswith("#")]
    run = asyncio.run(run_scenario("fastagi"))
    sim = run.agi_wire

    def env_keys(lines: list[tuple[str, str]]) -> list[str]:
        keys = []
        for who, text in lines:
            if who != "A" or not text:
                break
            keys.append(text.split(":", 1)[0])
        return keys

    assert env_keys(sim) == env_keys(real)
    env = dict(text.split(": ", 1) for who, text in sim if who == "A" and ": " in text)
    assert env["agi_network_script"] == "hotline" and env["agi_arg_1"] == "100"
    assert env["agi_callerid"] == "79000000008" and env["agi_calleridname"] == "Hank"
    real_exchange = real[len(env_keys(real)) + 1 :]
    assert sim[len(env_keys(sim)) + 1 :] == real_exchange
