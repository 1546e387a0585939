"""Replaying the real tier's recordings (tests/fixtures/asterisk-tier/): the tracker fed
what Asterisk sent gives the outcomes Asterisk reported in the same recording.

Each recording is the harness's own AMI session of one scenario on Asterisk 22.10.1; the
expected outcomes are read from it with the harness's parser (not the project's): each
caller's `AgentConnect`/`QueueCallerAbandon` with its `HoldTime` and `MemberName`, and, where
the recording ends with `QueueStatus`, Asterisk's `ServicelevelPerf`/`ServicelevelPerf2`.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from callqueue.replay import replay_report
from tests.asterisk.ami import Frame, parse_frame
from tests.conftest import ROOT

TIER = ROOT / "tests" / "fixtures" / "asterisk-tier"
# This list's files (the folder also holds other scenarios' recordings, see its README).
RECORDINGS = [
    "busy-period.ami.txt",
    "survey.ami.txt",
    "agi-down.ami.txt",
    "crm-down.ami.txt",
    "tracker-killed-waiting-and-talking.ami.txt",
    "tracker-away-while-a-call-ends.ami.txt",
]


def _frames(path: Path) -> list[Frame]:
    data = path.read_bytes()
    return [parse_frame(block) for block in data.split(b"\r\n\r\n") if block.strip()]


def _told(frames: list[Frame]) -> dict[tuple[str, str], tuple[str, int, str]]:
    """(Linkedid, Queue) -> (outcome, HoldTime, member) of each caller's first queue visit."""
    told: dict[tuple[str, str], tuple[str, int, str]] = {}
    for frame in frames:
        key = (frame.get("Linkedid"), frame.get("Queue"))
        if key in told:
            continue
        if frame.event == "AgentConnect":
            told[key] = ("answered", int(frame["HoldTime"]), frame["MemberName"])
        elif frame.event == "QueueCallerAbandon":
            told[key] = ("abandoned", int(frame["HoldTime"]), "")
    return told


@pytest.mark.parametrize("name", RECORDINGS)
def test_the_tracker_gives_the_outcomes_asterisk_reported(name: str) -> None:
    path = TIER / name
    told = _told(_frames(path))
    assert told, f"{name} has no queue outcome"
    report = replay_report([path])
    rows = {(r["linkedid"], r["queue"]): r for r in report["calls"] if r["entry"] == 1}
    assert set(rows) == set(told)
    for key, (outcome, hold_time_s, member) in told.items():
        row = rows[key]
        assert (row["outcome"], row["agent"] or "") == (outcome, member), key
        assert row["wait_s"] == pytest.approx(hold_time_s, abs=1.0), key


def test_the_busy_periods_perf_and_perf2_are_asterisks() -> None:
    path = TIER / "busy-period.ami.txt"
    (params,) = [f for f in _frames(path) if f.event == "QueueParams"]
    figures = replay_report([path])["service_level"]["hotline"]
    assert figures["offered"] == 32
    assert figures["answered"] == int(params["Completed"])
    assert figures["abandoned"] == int(params["Abandoned"])
    assert figures["perf"] == float(params["ServicelevelPerf"])
    assert figures["perf2"] == float(params["ServicelevelPerf2"])


def test_an_agent_complete_after_the_callers_hangup_completes_the_entry() -> None:
    """app_queue sends a caller's AgentComplete from its stasis thread; when the caller's
    channel is gone by then it comes after the caller's `Hangup`, without the caller's
    headers (this recording). The tracker, which closes the call at that Hangup, still
    completes the entry: the `completed` fact (the history's `completed`) is not lost."""
    from callqueue.replay import replay_sessions
    from callqueue.tracker import CallTracker
    from core.facts import CallCompleted

    path = TIER / "tracker-away-while-a-call-ends.ami.txt"
    frames = _frames(path)
    (complete,) = [f for f in frames if f.event == "AgentComplete"]
    assert not complete.get("Linkedid")
    (hangup,) = [f for f in frames if f.event == "Hangup" and f.get("Channel").endswith(";2")
                 and "@hotline-in" in f.get("Channel")]  # fmt: skip
    assert float(hangup["Timestamp"]) < float(complete["Timestamp"])
    facts: list = []
    replay_sessions([path.read_bytes()], tracker=CallTracker(), on_fact=facts.append)
    assert [f.kind for f in facts].index("ended") < [f.kind for f in facts].index("completed")
    (completed,) = [f for f in facts if isinstance(f, CallCompleted)]
    assert (completed.linkedid, completed.agent, completed.reason) == (
        hangup["Linkedid"],
        "agent01",
        "caller",
    )
    assert completed.talk_s == float(complete["TalkTime"])
