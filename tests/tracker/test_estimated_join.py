"""A caller who joined while no tracker saw it: the resync puts the join `Wait` whole
seconds before the snapshot (app_queue's `now - qe->start` of two time(NULL) readings),
so that join is off by up to a second, and by the snapshot's latency on top. The wait
of its answer or abandon must still be within a second of the truth: the fault suite's
tracker restart once recorded 0.41 s for a caller who waited 1.50 s (HoldTime 1)."""

from __future__ import annotations

import pytest

from core.ami.parser import AmiMessage
from core.facts import CallAbandoned, CallAnswered

from .test_tracker_events import CALLER, LINKEDID, Pbx

JOIN = 1000.01  # the truth: the caller joined here, unseen
SNAPSHOT = 1001.99  # Asterisk counts Wait: 1001 - 1000 = 1
APPLIED = 1002.09  # the tracker applies the snapshot 0.1 s later


def _resynced() -> Pbx:
    pbx = Pbx()
    entry = (
        f"Event: QueueEntry\nQueue: hotline\nPosition: 1\nChannel: {CALLER}\n"
        f"Uniqueid: {LINKEDID}\nCallerIDNum: 79161234567\nCallerIDName: Иван\n"
        f"Wait: {int(SNAPSHOT) - int(JOIN)}\n"
    )
    show = (
        f"Event: CoreShowChannel\nChannel: {CALLER}\nLinkedid: {LINKEDID}\n"
        f"Uniqueid: {LINKEDID}\nApplication: Queue\nApplicationData: hotline\n"
    )
    pbx.tracker.begin_resync()
    pbx.tracker.apply_resync([AmiMessage(show, APPLIED)], [AmiMessage(entry, APPLIED)], APPLIED)
    (waiting,) = pbx.tracker.entries()
    assert waiting.join_estimated and waiting.joined_at == APPLIED - 1
    return pbx


@pytest.mark.parametrize("waited_s", [1.5, 2.5, 3.2, 40.7])
def test_an_answer_after_an_estimated_join_is_within_a_second_of_the_truth(
    waited_s: float,
) -> None:
    pbx = _resynced()
    pbx.now = JOIN + waited_s
    hold_time = int(pbx.now) - int(JOIN)
    facts = pbx.send(Event="AgentConnect", Channel=CALLER, Linkedid=LINKEDID, Queue="hotline",
                     MemberName="agent1", DestChannel="PJSIP/agent1-00000001",
                     HoldTime=str(hold_time), RingTime="1")  # fmt: skip
    (answered,) = [fact for fact in facts if isinstance(fact, CallAnswered)]
    assert answered.wait_whole_s == hold_time
    assert abs(answered.wait_s - waited_s) < 1, "the join's estimate alone is 1.08 s off"


def test_an_abandon_after_an_estimated_join_is_within_a_second_of_the_truth() -> None:
    pbx = _resynced()
    pbx.now = JOIN + 1.5
    facts = pbx.send(Event="QueueCallerAbandon", Channel=CALLER, Linkedid=LINKEDID,
                     Queue="hotline", Position="1", OriginalPosition="1", HoldTime="1")  # fmt: skip
    (abandoned,) = [fact for fact in facts if isinstance(fact, CallAbandoned)]
    assert abs(abandoned.wait_s - 1.5) < 1
