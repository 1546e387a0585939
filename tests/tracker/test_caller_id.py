"""The caller's number and name: `Newchannel` says `<unknown>`, `NewCallerid` brings them,
and the later known value reaches the facts (`started` told again) and the live entries."""

from __future__ import annotations

import pytest

from callqueue.replay import replay_sessions
from callqueue.tracker import CallTracker
from core.ami.parser import AmiMessage, AmiParser
from core.facts import CallFact, CallStarted

from .conftest import SESSIONS, frame, transcript

LINKEDID = "1795400000.1"
HANDSET = "Local/100@hotline-in-00000000;1"
DIALPLAN = "Local/100@hotline-in-00000000;2"
AGENT = "PJSIP/agent1-00000002"


def _started(facts: list[CallFact]) -> list[CallStarted]:
    return [f for f in facts if isinstance(f, CallStarted)]


def _replay(name: str) -> tuple[CallTracker, list[CallFact]]:
    facts: list[CallFact] = []
    tracker = replay_sessions(
        [transcript(name).read_bytes()], CallTracker(keep_finished=True), on_fact=facts.append
    )
    return tracker, facts


@pytest.mark.parametrize("name", SESSIONS)
def test_a_recorded_call_is_started_again_with_the_callers_number(name: str) -> None:
    """Real Asterisk 22: both Local halves are made `<unknown>`, then NewCallerid names
    the caller on each; the second says nothing new, so one telling follows the first."""
    tracker, facts = _replay(name)
    for call in tracker.finished:
        told = [f for f in _started(facts) if f.linkedid == call.linkedid]
        assert (told[0].caller_num, told[0].caller_name) == ("", "")
        assert told[-1].caller_num.startswith("790000000") and told[-1].caller_name
        assert len(told) == 2 and len({f.key for f in told}) == 2
        assert {f.at for f in told} == {told[0].at}  # the call's start, both times
        assert (call.caller_num, call.caller_name) == (told[-1].caller_num, told[-1].caller_name)


def test_the_production_sample_names_every_caller() -> None:
    """08 (timestamps, channelvars): every call's last `started` has its number."""
    tracker, facts = _replay("08-production-sample")
    last = {f.linkedid: f for f in _started(facts)}
    assert len(last) == len(tracker.finished) >= 6
    assert all(f.caller_num.isdigit() for f in last.values())


class Pbx:
    def __init__(self) -> None:
        self.parser = AmiParser(clock=lambda: 1000.0)
        self.tracker = CallTracker()

    def send(self, **headers: str | list[str]) -> list[CallFact]:
        facts: list[CallFact] = []
        for message in self.parser.feed(frame(**headers)):
            facts += self.tracker.handle(message)
        return facts

    def channel_event(self, event: str, channel: str, num: str, name: str, **more: str) -> list:
        uniqueid = LINKEDID if channel == HANDSET else f"{channel[-6:]}.9"
        return self.send(
            Event=event,
            Channel=channel,
            CallerIDNum=num,
            CallerIDName=name,
            ConnectedLineNum=more.pop("ConnectedLineNum", "<unknown>"),
            ConnectedLineName="<unknown>",
            Uniqueid=uniqueid,
            Linkedid=LINKEDID,
            Context="hotline-in",
            Exten="100",
            **more,
        )

    def caller_arrives(self, num: str = "79000000001", name: str = "Алиса") -> list[CallFact]:
        facts = self.channel_event("Newchannel", HANDSET, "<unknown>", "<unknown>")
        facts += self.channel_event("Newchannel", DIALPLAN, "<unknown>", "<unknown>")
        facts += self.channel_event("NewCallerid", HANDSET, num, name)
        facts += self.channel_event("NewCallerid", DIALPLAN, num, name)
        return facts

    def joins(self, num: str = "79000000001", name: str = "Алиса") -> list[CallFact]:
        return self.channel_event(
            "QueueCallerJoin", DIALPLAN, num, name, Queue="hotline", Position="1", Count="1"
        )


def test_unknown_then_newcallerid_gives_the_number_once() -> None:
    pbx = Pbx()
    told = _started(pbx.caller_arrives())
    assert [(f.caller_num, f.caller_name) for f in told] == [("", ""), ("79000000001", "Алиса")]
    assert told[0].channel == told[1].channel == HANDSET


def test_an_unknown_value_later_never_erases_the_number() -> None:
    pbx = Pbx()
    pbx.caller_arrives()
    assert pbx.channel_event("NewCallerid", DIALPLAN, "<unknown>", "") == []
    assert pbx.joins("<unknown>", "<unknown>") and _started(pbx.joins("", "")) == []
    call = pbx.tracker.calls[LINKEDID]
    assert (call.caller_num, call.caller_name) == ("79000000001", "Алиса")
    assert {(e.caller_num, e.caller_name) for e in call.entries} == {("79000000001", "Алиса")}


def test_a_later_known_value_wins_and_reaches_the_waiting_entry() -> None:
    """The dialplan sets CALLERID(num) again while the caller waits (say, to E.164)."""
    pbx = Pbx()
    pbx.caller_arrives()
    pbx.joins()
    told = _started(pbx.channel_event("NewCallerid", DIALPLAN, "+79000000001", "Алиса"))
    assert [f.caller_num for f in told] == ["+79000000001"]
    (entry,) = pbx.tracker.calls[LINKEDID].entries
    assert (entry.caller_num, entry.outcome) == ("+79000000001", "waiting")


def test_the_agents_channels_do_not_rename_the_caller() -> None:
    """The agent's channel of the same call has its own caller ID (a SIP phone's
    extension), and the caller's connected line names the agent: neither is the caller."""
    pbx = Pbx()
    pbx.caller_arrives()
    pbx.joins()
    assert pbx.channel_event("Newchannel", AGENT, "<unknown>", "<unknown>") == []
    assert pbx.channel_event("NewCallerid", AGENT, "201", "Agent One") == []
    pbx.channel_event("NewConnectedLine", DIALPLAN, "79000000001", "Алиса", ConnectedLineNum="201")
    call = pbx.tracker.calls[LINKEDID]
    assert (call.caller_num, call.caller_name) == ("79000000001", "Алиса")


def test_a_number_first_known_at_the_queue_join_is_told() -> None:
    """No NewCallerid (a trunk whose Newchannel already named nobody): the join names the
    caller, and `started` is told again with it."""
    pbx = Pbx()
    pbx.channel_event("Newchannel", HANDSET, "<unknown>", "<unknown>")
    pbx.channel_event("Newchannel", DIALPLAN, "<unknown>", "<unknown>")
    told = _started(pbx.joins())
    assert [(f.caller_num, f.caller_name) for f in told] == [("79000000001", "Алиса")]


def test_newcallerid_is_asked_for_in_the_call_class() -> None:
    """The tracker asks AMI for the `call` and `agent` classes: NewCallerid is `call`."""
    assert "NewCallerid" in CallTracker().wanted_events
    privilege = [
        m.get("Privilege")
        for m in AmiParser().feed(transcript("01-answered").read_bytes())
        if m.name == "NewCallerid"
    ]
    assert privilege and all(p.split(",")[0] == "call" for p in privilege)


def test_a_resync_learns_a_number_told_while_the_tracker_was_away() -> None:
    """Newchannel seen, then an AMI outage that hid the NewCallerid and the join: the
    QueueStatus entry names the caller, and `started` is told again with the number."""
    pbx = Pbx()
    pbx.channel_event("Newchannel", HANDSET, "<unknown>", "<unknown>")
    pbx.channel_event("Newchannel", DIALPLAN, "<unknown>", "<unknown>")
    show = (
        f"Event: CoreShowChannel\nChannel: {DIALPLAN}\nLinkedid: {LINKEDID}\n"
        f"Uniqueid: 1795400000.2\nCallerIDNum: 79000000001\nCallerIDName: Алиса\n"
        "Application: Queue\nApplicationData: hotline\nDuration: 00:00:09\n"
    )
    entry = (
        f"Event: QueueEntry\nQueue: hotline\nPosition: 1\nChannel: {DIALPLAN}\n"
        "CallerIDNum: 79000000001\nCallerIDName: Алиса\nWait: 4\n"
    )
    pbx.tracker.begin_resync()
    facts = pbx.tracker.apply_resync(
        [AmiMessage(show, 1010.0)], [AmiMessage(entry, 1010.0)], 1010.0
    )
    told = _started(facts)
    assert [(f.caller_num, f.caller_name) for f in told] == [("79000000001", "Алиса")]
    call = pbx.tracker.calls[LINKEDID]
    assert [(e.caller_num, e.outcome) for e in call.entries] == [("79000000001", "waiting")]
