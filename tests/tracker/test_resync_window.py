"""Events between a restarted tracker's login and its resync, of a call it does not know.

The AGI ticketed the call while no tracker ran; the caller joined the queue then. The
new tracker logs in, and before the snapshots are applied the call's AgentConnect,
AgentComplete and Hangup arrive. Handled at once, the AgentConnect found no queue entry
(an unknown call is opened bare), the Hangup ended that bare call, and the resync, which
took the call for one with news since the login, left it alone: the call was recorded
without its queue entry (the fault suite's tracker restart, about 1 run in 13). Held
until the resync has told the call (its stay from queue_log), they continue it."""

from __future__ import annotations

from pathlib import Path

from callqueue.queue_log import read_queue_log
from core.ami.parser import AmiMessage
from core.facts import CallAnswered, CallCompleted, CallEnded, CallFact, CallTicketed

from .test_tracker_events import Pbx

T0 = 1_796_602_000.0  # the tracker before went away (Asterisk's clock)
LINKEDID = "1796602010.10"  # the caller's handset half
QUEUE_SIDE = "1796602010.11"  # the ;2 half in Queue(): queue_log's call id
JOINED = f"{int(T0) + 11}|{QUEUE_SIDE}|hotline|NONE|ENTERQUEUE||79000000010|1"
CALLER = "Local/100@hotline-in-0000000a;2"
AGENT = "PJSIP/agent1-00000007"


def _tracker_logged_in(tmp_path: Path, lines: list[str]) -> Pbx:
    pbx = Pbx()
    pbx.now = T0 + 40
    pbx.tracker.begin_resync()
    ticketed = CallTicketed(linkedid=LINKEDID, uin="00000010", uniqueid=QUEUE_SIDE)
    pbx.tracker.use_outage_facts({LINKEDID: (ticketed, T0 + 10.2)}, set(), unseen_since=T0)
    path = tmp_path / "queue_log"
    path.write_text("".join(f"{line}\n" for line in lines))
    pbx.tracker.use_queue_log(read_queue_log(path, since=T0 - 60))
    return pbx


def _window(pbx: Pbx, *, hangup: bool = True) -> list[CallFact]:
    """The call's events after the login, before the snapshots."""
    facts = pbx.send(Event="AgentConnect", Channel=CALLER, Linkedid=LINKEDID, Queue="hotline",
                     MemberName="agent1", DestChannel=AGENT, HoldTime="31", RingTime="2",
                     Uniqueid=QUEUE_SIDE)  # fmt: skip
    pbx.now += 8
    facts += pbx.send(Event="AgentComplete", Channel=CALLER, Linkedid=LINKEDID,
                      Queue="hotline", MemberName="agent1", DestChannel=AGENT, HoldTime="31",
                      TalkTime="8", Reason="caller", Uniqueid=QUEUE_SIDE)  # fmt: skip
    if hangup:
        facts += pbx.send(Event="Hangup", Channel=CALLER, Linkedid=LINKEDID, Cause="16")
    return facts


def _of(facts: list[CallFact], kind: type) -> list:
    return [fact for fact in facts if isinstance(fact, kind) and fact.linkedid == LINKEDID]


def test_a_call_ticketed_while_away_answered_and_ended_before_the_resync(tmp_path: Path) -> None:
    # queue_log, read at the login, knows the join only
    pbx = _tracker_logged_in(tmp_path, [JOINED])
    pbx.now = T0 + 11.4 + 31.2  # answered after 31.2 s
    facts = _window(pbx)
    facts += pbx.tracker.apply_resync([], [], pbx.now + 0.5)
    (answered,) = _of(facts, CallAnswered)
    assert (answered.agent, answered.wait_whole_s, answered.entry) == ("agent1", 31, 1)
    assert abs(answered.wait_s - 31.2) < 1
    (completed,) = _of(facts, CallCompleted)
    assert completed.talk_s == 8
    (ended,) = _of(facts, CallEnded)
    assert abs(ended.at.timestamp() - (T0 + 11.4 + 31.2 + 8)) < 1e-3, "at its Hangup"
    (call,) = pbx.tracker.finished
    assert [(e.queue, e.outcome) for e in call.entries] == [("hotline", "answered")]
    assert not pbx.tracker.calls


def test_what_queue_log_and_the_window_both_tell_is_told_once(tmp_path: Path) -> None:
    """queue_log was read after the answer: CONNECT and the AgentConnect are one answer."""
    pbx = _tracker_logged_in(tmp_path, [
        JOINED,
        f"{int(T0) + 42}|{QUEUE_SIDE}|hotline|agent1|CONNECT|31|1796602042.3|2",
        f"{int(T0) + 50}|{QUEUE_SIDE}|hotline|agent1|COMPLETECALLER|31|8|1",
    ])  # fmt: skip
    pbx.now = T0 + 11.4 + 31.2
    facts = _window(pbx)
    facts += pbx.tracker.apply_resync([], [], pbx.now + 0.5)
    assert len(_of(facts, CallAnswered)) == 1
    assert len(_of(facts, CallCompleted)) == 1
    assert len(_of(facts, CallEnded)) == 1
    (call,) = pbx.tracker.finished
    assert [e.outcome for e in call.entries] == ["answered"]


def test_a_call_the_snapshot_shows_talking_goes_on(tmp_path: Path) -> None:
    """Answered after the login, still talking at the resync: the AgentConnect answers
    the entry the resync opened, with Asterisk's HoldTime."""
    pbx = _tracker_logged_in(tmp_path, [JOINED])
    pbx.now = T0 + 11.4 + 31.2
    facts = pbx.send(Event="AgentConnect", Channel=CALLER, Linkedid=LINKEDID, Queue="hotline",
                     MemberName="agent1", DestChannel=AGENT, HoldTime="31", RingTime="2",
                     Uniqueid=QUEUE_SIDE)  # fmt: skip
    show = [
        AmiMessage(
            f"Event: CoreShowChannel\nChannel: {channel}\nLinkedid: {LINKEDID}\n"
            f"Uniqueid: {uniqueid}\nApplication: {app}\nApplicationData: hotline\n"
            "BridgeId: b1\nDuration: 00:00:44\n",
            pbx.now,
        )
        for channel, uniqueid, app in ((CALLER, QUEUE_SIDE, "Queue"), (AGENT, "a1", "AppQueue"))
    ]
    facts += pbx.tracker.apply_resync(show, [], pbx.now + 0.5)
    (answered,) = _of(facts, CallAnswered)
    assert (answered.agent, answered.wait_whole_s) == ("agent1", 31)
    assert abs(answered.wait_s - 31.2) < 1
    call = pbx.tracker.calls[LINKEDID]
    assert [(e.outcome, e.completed) for e in call.entries] == [("answered", False)]
    pbx.now += 8
    facts = pbx.send(Event="AgentComplete", Channel=CALLER, Linkedid=LINKEDID,
                     Queue="hotline", MemberName="agent1", DestChannel=AGENT, HoldTime="31",
                     TalkTime="8", Reason="caller", Uniqueid=QUEUE_SIDE)  # fmt: skip
    assert not _of(facts, CallAnswered), "answered once"
    assert len(_of(facts, CallCompleted)) == 1
