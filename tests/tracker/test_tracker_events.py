"""The normaliser on hand-made event sequences: Redirect, headerless AgentComplete,
ring-no-answer, DialEnd CANCEL, receive-time clock, agent state."""

from __future__ import annotations

import pytest

from callqueue.agents import AgentBoard, AgentState, AgentStateSink
from callqueue.replay import replay_sessions
from callqueue.tracker import CallTracker
from core.ami.parser import AmiParser
from core.facts import CallAnswered, CallEnded, CallFact, CallQueued, CallTransferred

from .conftest import SESSIONS, frame, transcript

LINKEDID = "1795400000.1"
CALLER = "PJSIP/trunk-00000001"
AGENT1 = "PJSIP/agent1-00000002"
AGENT4 = "PJSIP/agent4-00000003"


class RecordingSink(AgentStateSink):
    """Test fake: remembers every agent change, as a Redis writer would write it."""

    def __init__(self) -> None:
        self.changes: list[AgentState] = []
        self.removed: list[str] = []

    def agent_changed(self, agent: AgentState) -> None:
        self.changes.append(agent.snapshot())

    def agent_removed(self, name: str) -> None:
        self.removed.append(name)

    def statuses(self, name: str) -> list[str]:
        seen: list[str] = []
        for change in self.changes:
            if change.name == name and (not seen or seen[-1] != change.status):
                seen.append(change.status)
        return seen


class Pbx:
    """Feeds hand-made frames, without Timestamp headers, at a controlled receive time."""

    def __init__(self, wrapup_s: float = 0.0) -> None:
        self.now = 1000.0
        self.parser = AmiParser(clock=lambda: self.now)
        self.sink = RecordingSink()
        self.tracker = CallTracker(AgentBoard(self.sink, wrapup_s=wrapup_s), keep_finished=True)
        self.facts: list[CallFact] = []

    def send(self, **headers: str | list[str]) -> list[CallFact]:
        facts: list[CallFact] = []
        for message in self.parser.feed(frame(**headers)):
            facts += self.tracker.handle(message)
        self.facts += facts
        return facts

    def caller_arrives(self, queue: str = "hotline") -> None:
        self.send(
            Event="Newchannel",
            Channel=CALLER,
            Uniqueid=LINKEDID,
            Linkedid=LINKEDID,
            CallerIDNum="79161234567",
            CallerIDName="Иван Петров",
            Context="hotline-in",
            Exten="100",
        )
        self.now += 3
        self.send(
            Event="QueueCallerJoin",
            Channel=CALLER,
            Linkedid=LINKEDID,
            Queue=queue,
            Position="1",
            Count="1",
            Context="hotline-in",
            Exten="100",
            CallerIDNum="79161234567",
            CallerIDName="Иван Петров",
            ChanVariable=["UIN=12345678", "TICKET_ID=42"],
        )

    def ring(self, agent: str, channel: str, queue: str = "hotline") -> None:
        self.send(Event="Newchannel", Channel=channel, Uniqueid=channel[-3:], Linkedid=LINKEDID)
        self.send(
            Event="AgentCalled",
            Channel=CALLER,
            Linkedid=LINKEDID,
            Queue=queue,
            MemberName=agent,
            Interface=f"PJSIP/{agent}",
            DestChannel=channel,
        )

    def connect(
        self,
        agent: str,
        channel: str,
        hold_time_s: int,
        queue: str = "hotline",
        context: str = "hotline-in",
        exten: str = "100",
    ) -> None:
        self.send(
            Event="AgentConnect",
            Channel=CALLER,
            Linkedid=LINKEDID,
            Queue=queue,
            MemberName=agent,
            Interface=f"PJSIP/{agent}",
            DestChannel=channel,
            HoldTime=str(hold_time_s),
            RingTime="2",
            Context=context,
            Exten=exten,
        )
        for ch in (channel, CALLER):
            self.send(
                Event="BridgeEnter",
                Channel=ch,
                Linkedid=LINKEDID,
                Context=context,
                Exten=exten,
                BridgeUniqueid="b1",
            )

    def agent_complete_without_caller(
        self, agent: str, channel: str, talk_s: int, reason: str = "agent"
    ) -> None:
        self.send(
            Event="AgentComplete",
            DestChannel=channel,
            DestLinkedid=LINKEDID,
            Queue="hotline",
            MemberName=agent,
            Interface=f"PJSIP/{agent}",
            HoldTime="4",
            TalkTime=str(talk_s),
            Reason=reason,
        )


def _of(facts: list[CallFact], kind: type) -> list:
    return [f for f in facts if isinstance(f, kind)]


@pytest.mark.parametrize("leave_shows_new_place", [True, False])
def test_redirect_out_of_the_queue_call_is_a_transfer(leave_shows_new_place: bool) -> None:
    pbx = Pbx()
    pbx.caller_arrives()
    pbx.ring("agent1", AGENT1)
    pbx.now += 4.5
    pbx.connect("agent1", AGENT1, hold_time_s=4)
    pbx.now += 12
    # AMI Redirect of the caller to transfer-targets,300: no BlindTransfer event.
    place = ("transfer-targets", "300") if leave_shows_new_place else ("hotline-in", "100")
    pbx.send(
        Event="BridgeLeave",
        Channel=CALLER,
        Linkedid=LINKEDID,
        Context=place[0],
        Exten=place[1],
        BridgeUniqueid="b1",
    )
    pbx.agent_complete_without_caller("agent1", AGENT1, talk_s=12)
    pbx.send(Event="Hangup", Channel=AGENT1, Linkedid=LINKEDID, Cause="16")
    pbx.now += 1
    pbx.send(
        Event="QueueCallerJoin",
        Channel=CALLER,
        Linkedid=LINKEDID,
        Queue="support",
        Position="1",
        Count="1",
        Context="transfer-targets",
        Exten="300",
    )
    pbx.ring("agent4", AGENT4, "support")
    pbx.now += 9.25
    pbx.connect(
        "agent4", AGENT4, hold_time_s=9, queue="support", context="transfer-targets", exten="300"
    )
    pbx.now += 10
    pbx.send(Event="Hangup", Channel=CALLER, Linkedid=LINKEDID, Cause="16")
    pbx.send(
        Event="AgentComplete",
        Channel=CALLER,
        Linkedid=LINKEDID,
        DestChannel=AGENT4,
        Queue="support",
        MemberName="agent4",
        HoldTime="9",
        TalkTime="10",
        Reason="caller",
    )
    pbx.send(Event="Hangup", Channel=AGENT4, Linkedid=LINKEDID, Cause="16")

    (transfer,) = _of(pbx.facts, CallTransferred)
    assert (transfer.how, transfer.to, transfer.from_agent, transfer.n) == (
        "redirect",
        "300",
        "agent1",
        1,
    )
    assert [(f.queue, f.entry) for f in _of(pbx.facts, CallQueued)] == [
        ("hotline", 1),
        ("support", 2),
    ]
    assert [(f.agent, f.wait_s) for f in _of(pbx.facts, CallAnswered)] == [
        ("agent1", 4.5),
        ("agent4", 9.25),
    ]
    first, second = pbx.tracker.entries()
    assert first.completed and first.talk_s == 12  # the headerless AgentComplete matched
    assert [t.kind for t in first.transfers] == ["redirect"] and not second.transfers
    (ended,) = _of(pbx.facts, CallEnded)
    assert (ended.hung_up_by, ended.talk_s) == ("caller", 22.0)
    assert pbx.tracker.agents.agents["agent1"].status == "available"


def test_agent_hangup_then_survey_is_not_a_transfer() -> None:
    pbx = Pbx()
    pbx.caller_arrives()
    pbx.ring("agent1", AGENT1)
    pbx.connect("agent1", AGENT1, hold_time_s=0)
    pbx.send(Event="Hangup", Channel=AGENT1, Linkedid=LINKEDID, Cause="16")
    pbx.send(
        Event="AgentComplete",
        Channel=CALLER,
        Linkedid=LINKEDID,
        DestChannel=AGENT1,
        Queue="hotline",
        MemberName="agent1",
        HoldTime="0",
        TalkTime="30",
        Reason="agent",
    )
    pbx.send(
        Event="BridgeLeave", Channel=CALLER, Linkedid=LINKEDID, Context="hotline-in", Exten="100"
    )
    pbx.send(
        Event="Newexten",
        Channel=CALLER,
        Linkedid=LINKEDID,
        Context="survey",
        Exten="s",
        Application="AGI",
    )
    facts = pbx.send(
        Event="Hangup", Channel=CALLER, Linkedid=LINKEDID, Context="survey", Exten="s", Cause="16"
    )
    assert not _of(pbx.facts, CallTransferred)
    (ended,) = _of(facts, CallEnded)
    assert ended.hung_up_by == "agent"


def test_headerless_agent_complete_on_an_ordinary_call() -> None:
    pbx = Pbx()
    pbx.caller_arrives()
    pbx.ring("agent1", AGENT1)
    pbx.connect("agent1", AGENT1, hold_time_s=0)
    pbx.agent_complete_without_caller("agent1", AGENT1, talk_s=42, reason="caller")
    (entry,) = pbx.tracker.entries()
    assert (entry.completed, entry.complete_reason, entry.talk_s) == (True, "caller", 42.0)
    assert pbx.tracker.agents.agents["agent1"].calls_taken == 1


def test_caller_gone_while_ringing_dialend_cancel_twice() -> None:
    pbx = Pbx()
    pbx.caller_arrives()
    pbx.ring("agent1", AGENT1)
    assert pbx.tracker.agents.agents["agent1"].status == "ringing"
    pbx.now += 6.4
    pbx.send(Event="Hangup", Channel=CALLER, Linkedid=LINKEDID, Cause="16")
    pbx.send(
        Event="QueueCallerAbandon",
        Channel=CALLER,
        Linkedid=LINKEDID,
        Queue="hotline",
        HoldTime="6",
        Position="1",
        OriginalPosition="1",
    )
    for _ in range(2):
        pbx.send(
            Event="DialEnd",
            Channel=CALLER,
            Linkedid=LINKEDID,
            DestChannel=AGENT1,
            DialStatus="CANCEL",
        )
    assert pbx.tracker.agents.agents["agent1"].status == "available"
    assert pbx.sink.statuses("agent1") == ["ringing", "available"]
    (entry,) = pbx.tracker.entries()
    assert (entry.outcome, entry.wait_whole_s) == ("abandoned", 6)
    assert entry.wait_s == pytest.approx(6.4)
    facts = pbx.send(Event="Hangup", Channel=AGENT1, Linkedid=LINKEDID, Cause="16")
    assert _of(facts, CallEnded)[0].hung_up_by == "caller"


def test_ring_no_answer_then_next_agent() -> None:
    pbx = Pbx()
    pbx.caller_arrives()
    pbx.ring("agent1", AGENT1)
    pbx.send(
        Event="AgentRingNoAnswer",
        Channel=CALLER,
        Linkedid=LINKEDID,
        Queue="hotline",
        MemberName="agent1",
        DestChannel=AGENT1,
        RingTime="15",
    )
    assert pbx.tracker.agents.agents["agent1"].status == "available"
    pbx.ring("agent2", "PJSIP/agent2-00000009")
    pbx.connect("agent2", "PJSIP/agent2-00000009", hold_time_s=16)
    (entry,) = pbx.tracker.entries()
    assert (entry.ring_no_answer, entry.agent) == (1, "agent2")


def test_receive_time_used_without_timestamp_and_holdtime_checks_it() -> None:
    pbx = Pbx()
    pbx.caller_arrives()
    pbx.now += 12.5
    pbx.connect("agent1", AGENT1, hold_time_s=12)
    assert _of(pbx.facts, CallAnswered)[0].wait_s == 12.5
    other = Pbx()
    other.caller_arrives()
    other.now += 0.2  # e.g. a replay, or events buffered while the tracker was away
    other.connect("agent1", AGENT1, hold_time_s=30)
    assert _of(other.facts, CallAnswered)[0].wait_s == 30.0


def test_timestamp_header_wins_over_receive_time() -> None:
    pbx = Pbx()
    pbx.send(
        Event="QueueCallerJoin",
        Timestamp="1795311765.427819",
        Channel=CALLER,
        Linkedid=LINKEDID,
        Queue="hotline",
        Position="1",
    )
    pbx.send(
        Event="AgentConnect",
        Timestamp="1795311803.827819",
        Channel=CALLER,
        Linkedid=LINKEDID,
        Queue="hotline",
        MemberName="agent1",
        DestChannel=AGENT1,
        HoldTime="38",
    )
    (entry,) = pbx.tracker.entries()
    assert entry.wait_s == pytest.approx(38.4)
    assert entry.wait_whole_s == 38


def test_agent_states_from_a_recorded_session() -> None:
    sink = RecordingSink()
    tracker = CallTracker(AgentBoard(sink), keep_finished=True)
    replay_sessions([transcript("02-slow-answer-outside-sl").read_bytes()], tracker)
    paused = [c for c in sink.changes if c.status == "paused"]
    assert paused and paused[0].paused_reason == "coffee"
    assert sink.statuses("agent1") == [
        "available",
        "paused",
        "available",
        "ringing",
        "talking",
        "available",
    ]
    assert sink.changes[-1].calls_taken == 1
    assert sink.removed == ["agent1"]


def test_wrapup_ends_on_the_clock() -> None:
    pbx = Pbx(wrapup_s=10)
    pbx.caller_arrives()
    pbx.ring("agent1", AGENT1)
    pbx.connect("agent1", AGENT1, hold_time_s=0)
    pbx.now += 30
    pbx.agent_complete_without_caller("agent1", AGENT1, talk_s=30)
    board = pbx.tracker.agents
    assert board.agents["agent1"].status == "wrapup"
    board.end_wrapups(pbx.now + 5)
    assert board.agents["agent1"].status == "wrapup"
    board.end_wrapups(pbx.now + 10)
    assert board.agents["agent1"].status == "available"


def test_odd_events_are_counted_not_fatal(caplog) -> None:
    pbx = Pbx()
    pbx.send(Event="QueueCallerJoin", Channel=CALLER, Queue="hotline", Position="1")
    pbx.send(
        Event="Newchannel",
        Channel=CALLER,
        Linkedid=LINKEDID,
        Uniqueid=LINKEDID,
        Timestamp="not-a-time",
    )
    assert pbx.tracker.errors == 2
    assert "QueueCallerJoin" in caplog.text and "Newchannel" in caplog.text
    pbx.caller_arrives()  # and the stream goes on
    assert [f.kind for f in pbx.facts] == ["started", "ticketed", "queued"]


@pytest.mark.parametrize("names", [["08-production-sample"], SESSIONS])
def test_replays_understand_every_event(names: list[str]) -> None:
    tracker = replay_sessions([transcript(n).read_bytes() for n in names])
    assert tracker.errors == 0
    assert not tracker.calls  # every call ended


def test_agent_board_after_the_production_sample() -> None:
    sink = RecordingSink()
    tracker = CallTracker(AgentBoard(sink), keep_finished=True)
    replay_sessions([transcript("08-production-sample").read_bytes()], tracker)
    lunch = [c for c in sink.changes if c.name == "agent2" and c.status == "paused"]
    assert lunch and lunch[0].paused_reason == "lunch"
    taken = {}
    for change in sink.changes:
        taken[change.name] = change.calls_taken
    assert taken == {"agent1": 3, "agent2": 2, "agent3": 1, "agent4": 1}
    assert sorted(sink.removed) == ["agent1", "agent2", "agent3", "agent4"]


def test_calls_today_restart_at_midnight_in_the_boards_zone() -> None:
    from zoneinfo import ZoneInfo

    pbx = Pbx()
    pbx.tracker.agents = board = AgentBoard(tz=ZoneInfo("Europe/Moscow"))
    pbx.now = 1795294790.0  # 2026-11-21 23:59:50 in Moscow
    days = []
    for _ in range(2):
        pbx.caller_arrives()
        pbx.ring("agent1", AGENT1)
        pbx.connect("agent1", AGENT1, hold_time_s=3)
        pbx.agent_complete_without_caller("agent1", AGENT1, talk_s=30)
        agent = board.agents["agent1"]
        days.append((agent.day, agent.calls_today, agent.calls_taken))
        pbx.now += 20
    assert days == [("2026-11-21", 1, 1), ("2026-11-22", 1, 2)]


def test_longest_wait_now_counts_only_callers_still_waiting() -> None:
    pbx = Pbx()
    pbx.caller_arrives()
    joined = pbx.now
    assert pbx.tracker.longest_wait_now_s(joined + 10) == 10
    assert pbx.tracker.longest_wait_now_s(joined + 10, queue="support") == 0
    pbx.connect("agent1", AGENT1, hold_time_s=0)
    assert pbx.tracker.longest_wait_now_s(joined + 10) == 0


def test_redirect_of_a_waiting_caller_into_another_queue() -> None:
    pbx = Pbx()
    pbx.caller_arrives()
    pbx.now += 20
    pbx.send(
        Event="QueueCallerLeave",
        Channel=CALLER,
        Linkedid=LINKEDID,
        Queue="hotline",
        Position="1",
        Count="0",
        Context="hotline-in",
        Exten="100",
    )
    pbx.send(
        Event="QueueCallerJoin",
        Channel=CALLER,
        Linkedid=LINKEDID,
        Queue="support",
        Position="1",
        Count="1",
        Context="transfer-targets",
        Exten="300",
    )
    (transfer,) = _of(pbx.facts, CallTransferred)
    assert (transfer.how, transfer.to, transfer.from_agent) == ("redirect", "300", "")
    first, second = pbx.tracker.entries()
    assert (first.outcome, [t.to for t in first.transfers]) == ("left", ["300"])
    assert (second.queue, second.entry, second.outcome) == ("support", 2, "waiting")


def test_queue_timeout_going_on_in_the_dialplan_is_not_a_transfer() -> None:
    pbx = Pbx()
    pbx.caller_arrives()
    pbx.send(
        Event="QueueCallerLeave",
        Channel=CALLER,
        Linkedid=LINKEDID,
        Queue="hotline",
        Position="1",
        Count="0",
        Context="hotline-in",
        Exten="100",
    )
    pbx.send(
        Event="Newexten",
        Channel=CALLER,
        Linkedid=LINKEDID,
        Context="hotline-in",
        Exten="100",
        Priority="9",
        Application="Playback",
    )
    pbx.send(
        Event="Hangup",
        Channel=CALLER,
        Linkedid=LINKEDID,
        Context="hotline-in",
        Exten="100",
        Cause="16",
    )
    assert not _of(pbx.facts, CallTransferred)
    (entry,) = pbx.tracker.entries()
    assert entry.outcome == "left"
