"""The production-like set-up of 08-production-sample: Timestamp headers and channelvars.

The `production-sample` scenario replays 08's timeline step by step (asterisksim.production);
test_fidelity08 compares it event for event. Here: the header layout of every event type the
real recording has, including the status replies and the events outside fidelity.KEEP.
"""

from __future__ import annotations

import asyncio
import re

import pytest

from asterisksim.scenarios import run_scenario
from asterisksim.transcript import Frame, parse, read
from tests.conftest import FIXTURES

RECORDING = FIXTURES / "08-production-sample.txt"
COMPARED = {
    "Newchannel", "Newstate", "Hangup", "DialBegin", "DialEnd", "BridgeEnter", "BridgeLeave",
    "QueueCallerJoin", "QueueCallerLeave", "QueueCallerAbandon", "AgentCalled", "AgentConnect",
    "AgentComplete", "QueueMemberStatus", "QueueMemberPause", "BlindTransfer", "NewCallerid",
    "OriginateResponse", "QueueMemberAdded", "QueueMemberRemoved", "QueueParams", "QueueMember",
    "QueueSummary",
}  # fmt: skip
_ORIG = re.compile(r"^ChanVariable\(.*\)$")


@pytest.fixture(scope="module")
def frames() -> tuple[list[Frame], list[Frame], list]:
    run = asyncio.run(run_scenario("production-sample"))
    return read(RECORDING)[1], parse(run.received)[1], run.truth


def _shapes(frames: list[Frame]) -> dict[str, set[tuple[str, ...]]]:
    shapes: dict[str, set[tuple[str, ...]]] = {}
    for f in frames:
        if f.event in COMPARED:
            names = tuple(_ORIG.sub("ChanVariable(chan)", n) for n in f.names)
            shapes.setdefault(f.event, set()).add(names)
    return shapes


def test_every_event_layout_was_seen_in_production(frames: tuple) -> None:
    real, sim, _ = frames
    real_shapes, sim_shapes = _shapes(real), _shapes(sim)
    assert set(sim_shapes) == set(real_shapes)
    for event, shapes in sim_shapes.items():
        assert shapes <= real_shapes[event], event


def test_timestamp_is_the_third_header_of_events_only(frames: tuple) -> None:
    for frames_ in frames[:2]:
        for f in frames_:
            listed = "ActionID" in f and f.event not in (None, "OriginateResponse")
            if f.event is None or f.event == "FullyBooted" or listed:
                assert "Timestamp" not in f, f.event
            else:
                assert f.names[2] == "Timestamp", f.event


def test_channel_variables_follow_the_call(frames: tuple) -> None:
    real, sim, truth = frames
    uins = {c.variables["UIN"] for c in truth}
    for frames_, known in ((real, None), (sim, uins)):
        connects = [f for f in frames_ if f.event == "AgentConnect"]
        assert connects
        for f in connects:
            values = dict(v.split("=", 1) for k, v in f.headers if k == "ChanVariable")
            dest = dict(v.split("=", 1) for k, v in f.headers if k == "DestChanVariable")
            assert re.fullmatch(r"\d{8}", values["UIN"])
            assert dest["UIN"] == values["UIN"]  # inherited through `__UIN`
            assert values["TICKET_ID"].endswith(values["UIN"])
            if known is not None:
                assert values["UIN"] in known
        handsets = [f for f in frames_ if f.get("Channel", "").endswith(";1")
                    and "hotline-in" in f.get("Channel", "")
                    and "ChannelState" in f]  # channel blocks only  # fmt: skip
        assert handsets
        assert all(("ChanVariable", "UIN=") in f.headers for f in handsets)


def test_transfers_in_the_truth(frames: tuple) -> None:
    truth = frames[2]
    transferred = [c for c in truth if c.transfers]
    assert [t.to for c in transferred for t in c.transfers] == [
        "transfer-targets/300", "transfer-targets/400",
    ]  # fmt: skip
    assert [c.outcome for c in truth].count("abandoned") == 0
