"""The measures of tests/asterisk/sim_vs_real.py read on real recordings: what the real
Asterisk said must be read as it meant it before the simulator is held to it.

app_queue sends a caller's AgentComplete from the stasis router thread that handles the
caller's hangup request; it looks the caller's channel up then, and when the channel is
already gone the event comes after the caller's `Hangup`, without the caller's headers (no
`Linkedid`). Which of the two threads wins is a race, not the scenario: the same busy
period gave one form or the other for the same caller from run to run. The caller hung up
in the bridge either way, so nothing runs after the queue (no survey): 0 s.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.asterisk.sim_vs_real import (
    after_queue_seconds,
    differences,
    recorded_run,
    stories,
    transferer_side_first,
)

RECORDED = Path(__file__).resolve().parents[1] / "fixtures" / "asterisk-tier"


def _single_caller_run(name: str):  # type: ignore[no-untyped-def]
    """A recording of one caller (not a scenario of sim_vs_real): its callers by join."""
    run = recorded_run(RECORDED / name, caller_prefix="790")
    assert len(run.linkedids) == 1
    return run


@pytest.mark.parametrize(
    ("name", "headers"),
    [
        # AgentComplete before the caller's Hangup, with the caller's headers.
        ("tracker-killed-waiting-and-talking.ami.txt", True),
        # AgentComplete after the caller's Hangup, without them.
        ("tracker-away-while-a-call-ends.ami.txt", False),
    ],
)
def test_a_caller_who_hangs_up_in_the_bridge_has_nothing_after_the_queue(
    name: str, headers: bool
) -> None:
    run = _single_caller_run(name)
    (complete,) = [f for f in run.frames if f.event == "AgentComplete"]
    assert complete["Reason"] == "caller"
    assert ("Linkedid" in dict(complete.headers)) is headers
    assert after_queue_seconds(run) == [pytest.approx(0.0, abs=0.002)]
    (story,) = stories(run)
    assert [s["Event"] for s in story][-2:] == ["AgentConnect", "AgentComplete"]


def test_the_survey_is_the_time_after_the_queue() -> None:
    """The agent hung up: the caller's `;2` ran the survey (keys 1 and 4), ~3.4 s."""
    run = _single_caller_run("survey.ami.txt")
    (complete,) = [f for f in run.frames if f.event == "AgentComplete"]
    assert complete["Reason"] == "agent"
    (after,) = after_queue_seconds(run)
    assert after is not None and 3.0 < after < 4.0


def _two_callers(second_joins_at: float, second_position: str) -> list[list[dict[str, str]]]:
    """Caller 0 joins at 100 and leaves at 103; caller 1 joins at `second_joins_at`."""
    first = [
        {"Event": "QueueCallerJoin", "_at": "100.0", "Queue": "hotline", "Position": "1"},
        {"Event": "QueueCallerLeave", "_at": "103.0", "Queue": "hotline", "Position": "1"},
    ]
    second = [
        {
            "Event": "QueueCallerJoin",
            "_at": str(second_joins_at),
            "Queue": "hotline",
            "Position": second_position,
        }
    ]
    return [first, second]


def test_a_position_two_clocks_order_differently_is_not_a_difference() -> None:
    """Caller 1 joins 0.4 s after caller 0 left on one clock and 0.6 s before on the other:
    its position is 1 on the first and 2 on the second, within the tolerance."""
    real, sim = _two_callers(103.4, "1"), _two_callers(102.4, "2")
    assert differences(real, sim, tolerance_s=1) == []
    # Seconds apart, the order is no accident of the clocks: the position must agree.
    real, sim = _two_callers(106.0, "1"), _two_callers(101.5, "2")
    assert differences(real, sim, tolerance_s=1) == ["caller 1 QueueCallerJoin#0 Position: 1 != 2"]


def _step(event: str, **headers: str) -> dict[str, str]:
    return {"Event": event, **headers}


# The blind transfer of sim_vs_real's TRANSFERS scenario, caller 1, as CI's real Asterisk
# told it (the caller's new queue call began before the BlindTransfer) and as it is told
# on most runs and by the simulator (after it).
_CONNECTED = [
    _step("QueueCallerJoin", Queue="hotline", Position="1"),
    _step("AgentCalled", Queue="hotline", MemberName="agent01"),
    _step("QueueCallerLeave", Queue="hotline", Position="1"),
    _step("AgentConnect", Queue="hotline", MemberName="agent01", HoldTime="2"),
]
_TRANSFER = [
    _step("BlindTransfer", Context="hotline-targets", Extension="300"),
    _step("AgentComplete", Queue="hotline", MemberName="agent01", Reason="transfer"),
]
_NEW_CALL = [
    _step("QueueCallerJoin", Queue="support", Position="1"),
    _step("AgentCalled", Queue="support", MemberName="agent02"),
]
_REST = [
    _step("QueueCallerLeave", Queue="support", Position="1"),
    _step("AgentConnect", Queue="support", MemberName="agent02", HoldTime="2"),
    _step("AgentComplete", Queue="support", MemberName="agent02", Reason="caller"),
]


def test_a_blind_transfer_told_before_or_after_the_callers_new_queue_is_one_story() -> None:
    """Asterisk sends the BlindTransfer from the agent's thread and the caller's new
    QueueCallerJoin from the caller's: either may come first (both seen for real)."""
    usual = _CONNECTED + _TRANSFER + _NEW_CALL + _REST
    raced = _CONNECTED + _NEW_CALL[:1] + _TRANSFER[:1] + _NEW_CALL[1:] + _TRANSFER[1:] + _REST
    assert transferer_side_first(raced) == usual
    assert transferer_side_first(usual) == usual
    assert differences([transferer_side_first(raced)], [transferer_side_first(usual)]) == []


def test_a_transfer_told_in_the_wrong_place_is_still_a_difference() -> None:
    """Only the new queue call's steps may pass the transfer: a transfer told before the
    agent answered is another story."""
    wrong = _CONNECTED[:3] + _TRANSFER + _CONNECTED[3:] + _NEW_CALL + _REST
    usual = _CONNECTED + _TRANSFER + _NEW_CALL + _REST
    assert differences([transferer_side_first(wrong)], [transferer_side_first(usual)]) != []
