"""A caller who gave up while the tracker's AMI session was cut: the QueueCallerAbandon is
lost, the Hangup comes after the reconnection. The entry must not stay `waiting` for good
(the fault suite's "AMI connection cut" left it so): it is abandoned at the call's end."""

from __future__ import annotations

from core.facts import CallAbandoned, CallEnded

from .test_tracker_events import CALLER, LINKEDID, Pbx


def test_an_entry_still_waiting_when_its_caller_hangs_up_is_abandoned_then() -> None:
    pbx = Pbx()
    pbx.caller_arrives()
    pbx.now += 4  # the QueueCallerAbandon of this moment never arrived
    facts = pbx.send(Event="Hangup", Channel=CALLER, Linkedid=LINKEDID, Cause="16")
    abandoned = [fact for fact in facts if isinstance(fact, CallAbandoned)]
    assert len(abandoned) == 1 and abandoned[0].wait_s == 4.0
    assert abandoned[0].wait_whole_s == 4 and abandoned[0].entry == 1
    assert isinstance(facts[-1], CallEnded) and facts[-1].hung_up_by == "caller"
    (entry,) = pbx.tracker.entries()
    assert entry.outcome == "abandoned"


def test_an_abandon_told_before_the_hangup_is_not_told_again() -> None:
    pbx = Pbx()
    pbx.caller_arrives()
    pbx.now += 4
    pbx.send(Event="QueueCallerAbandon", Channel=CALLER, Linkedid=LINKEDID, Queue="hotline",
             Position="1", OriginalPosition="1", HoldTime="4")  # fmt: skip
    facts = pbx.send(Event="Hangup", Channel=CALLER, Linkedid=LINKEDID, Cause="16")
    assert not [fact for fact in facts if isinstance(fact, CallAbandoned)]
    assert [type(fact) for fact in pbx.facts].count(CallAbandoned) == 1
