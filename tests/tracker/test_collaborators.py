"""The tracker's collaborators: the dispatch over its handler groups, the agent board's
steps a resync takes, the call book's bookkeeping."""

from __future__ import annotations

import pytest

from callqueue.agents import AgentBoard
from callqueue.call_book import CallBook
from callqueue.calls import QueueEntry
from callqueue.tracker import CallTracker, handlers_of
from core.ami.parser import AmiMessage, AmiParser

from .test_tracker_events import RecordingSink

EVENTS = {
    "AgentCalled",
    "AgentComplete",
    "AgentConnect",
    "AgentRingNoAnswer",
    "AttendedTransfer",
    "BlindTransfer",
    "BridgeEnter",
    "BridgeLeave",
    "DialBegin",
    "DialEnd",
    "Hangup",
    "NewCallerid",
    "Newchannel",
    "QueueCallerAbandon",
    "QueueCallerJoin",
    "QueueCallerLeave",
    "QueueMember",
    "QueueMemberAdded",
    "QueueMemberPause",
    "QueueMemberRemoved",
    "QueueMemberStatus",
}


def member_status(name: str, interface: str, status: str = "1") -> AmiMessage:
    text = (
        f"Event: QueueMemberStatus\nQueue: hotline\nMemberName: {name}\n"
        f"Interface: {interface}\nStatus: {status}\nPaused: 0\n"
    )
    return AmiMessage(text, 0.0)


def test_the_tracker_reads_the_events_its_handler_groups_name() -> None:
    assert CallTracker().wanted_events == EVENTS


def test_two_groups_may_not_handle_one_event() -> None:
    class One:
        def on_ami_Hangup(self, message: AmiMessage, at: float) -> list:
            return []

    assert set(handlers_of(One())) == {"Hangup"}
    with pytest.raises(ValueError, match="Hangup"):
        handlers_of(One(), One())


def test_the_board_finds_removes_and_frees_agents_as_a_resync_needs() -> None:
    sink = RecordingSink()
    board = AgentBoard(sink)
    board.on_member_status(member_status("agent1", "Local/agent1@agents/n"), 1.0)
    board.on_member_status(member_status("agent7", "PJSIP/agent7"), 1.0)
    assert board.member_of("Local/agent1@agents-0000000a;2") == "agent1"
    assert board.member_of("PJSIP/agent7-0000001a") == "agent7"
    assert board.member_of("Local/100@hotline-in-00000000;2") == ""

    board.on_call("agent1", 2.0, "1.1")
    assert (board.agents["agent1"].status, board.agents["agent1"].linkedid) == ("talking", "1.1")
    board.free("agent1", 3.0)
    assert (board.agents["agent1"].status, board.agents["agent1"].since) == ("available", 3.0)
    board.remove("agent7")
    board.remove("agent7")  # gone already: nothing more to say
    assert sorted(board.agents) == ["agent1"] and sink.removed == ["agent7"]


def test_the_book_keeps_entries_and_an_ended_calls_talk_for_its_agent_complete() -> None:
    finished = []
    book = CallBook(keep_finished=True, on_call_finished=finished.append)
    call = book.open("1.1", 10.0)
    assert book.open("1.1", 99.0) is call  # the first sight sets the start
    entry = QueueEntry("1.1", 1, "hotline", "Local/100@hotline-in-00000000;2", "", "", 1, 10.0)
    book.add_entry(call, entry)
    entry.answered, entry.agent, entry.agent_channel = True, "agent1", "PJSIP/agent1-00000002"
    book.connect(entry)
    assert book.agent_by_channel == {"PJSIP/agent1-00000002": "agent1"}
    book.count_outcome("hotline")
    assert book.take_outcomes_seen("hotline") == 1 and book.take_outcomes_seen("hotline") == 0

    ended = book.end(call, 40.0)
    assert ended.hung_up_by == "unknown"  # answered, and no event said who hung up
    assert not book.calls and finished == [call]
    assert book.entries() == [entry] and book.finished == [call]
    # The AgentComplete may still come, after the call's end and without the caller's
    # headers: it finds the entry by queue and member; another call's event does not.
    assert book.talking == {("hotline", "agent1"): entry}
    (late, other) = AmiParser().feed(
        b"Event: AgentComplete\r\nQueue: hotline\r\nMemberName: agent1\r\n\r\n"
        b"Event: AgentComplete\r\nQueue: hotline\r\nMemberName: agent1\r\n"
        b"Linkedid: 1.2\r\n\r\n"
    )
    assert book.talking_entry(late) is entry
    assert book.talking_entry(other) is None


def _pause(name: str, paused: bool, reason: str = "", last_pause: int = 0) -> AmiMessage:
    text = (
        f"Event: QueueMemberPause\nQueue: hotline\nMemberName: {name}\n"
        f"Interface: Local/{name}@agents/n\nPaused: {int(paused)}\nPausedReason: {reason}\n"
        f"LastPause: {last_pause}\n"
    )
    return AmiMessage(text, 0.0)


def test_a_pause_keeps_when_it_began() -> None:
    board = AgentBoard(RecordingSink())
    board.on_member_status(member_status("agent1", "Local/agent1@agents/n"), 10.0)
    board.on_member_pause(_pause("agent1", True, "lunch", last_pause=100), 100.4)
    agent = board.agents["agent1"]
    assert (agent.status, agent.paused_reason, agent.paused_since) == ("paused", "lunch", 100.4)
    board.on_member_pause(_pause("agent1", True, "meeting", last_pause=100), 130.0)
    assert agent.paused_since == 100.4, "a new reason is the same pause"
    board.on_member_pause(_pause("agent1", False), 160.0)
    assert (agent.status, agent.paused_since) == ("available", 0.0)


def test_a_member_first_seen_paused_takes_asterisks_last_pause() -> None:
    """A resync's QueueMember list: the pause began before the tracker saw it."""
    board = AgentBoard(RecordingSink())
    text = (
        "Event: QueueMember\nQueue: hotline\nMemberName: agent2\n"
        "Interface: Local/agent2@agents/n\nStatus: 1\nPaused: 1\nPausedReason: break\n"
        "LastPause: 900\nCallsTaken: 4\n"
    )
    board.on_member_status(AmiMessage(text, 0.0), 1000.0)
    agent = board.agents["agent2"]
    assert (agent.status, agent.paused_since, agent.calls_taken) == ("paused", 900.0, 4)


def test_an_agent_complete_naming_its_call_completes_that_call_not_the_agents_newer_one() -> None:
    """After a tracker restart the resync registers a caller answered while it was away as
    the agent's talk, then replays from queue_log the AgentComplete of the agent's call
    before it (ended meanwhile): that event names its own call and must complete it, not
    the newer one (which took that call's HoldTime and TalkTime: the fault suite's
    "answered before it joined")."""
    book = CallBook()
    entries = []
    for linkedid, at in (("1.1", 10.0), ("1.5", 20.0)):
        call = book.open(linkedid, at)
        entry = QueueEntry(linkedid, 1, "hotline", f"Local/100@hotline-in-{linkedid};2", "",
                           "", 1, at)  # fmt: skip
        book.add_entry(call, entry)
        entry.answered, entry.agent, entry.agent_channel = True, "agent2", f"Local/a-{linkedid}"
        book.connect(entry)  # the newer call's answer takes the agent's talk
        entries.append(entry)
    older, newer = entries
    (replayed, headerless) = AmiParser().feed(
        b"Event: AgentComplete\r\nQueue: hotline\r\nMemberName: agent2\r\n"
        b"Linkedid: 1.1\r\n\r\n"
        b"Event: AgentComplete\r\nQueue: hotline\r\nMemberName: agent2\r\n\r\n"
    )
    assert book.talking_entry(replayed) is older
    assert book.talking_entry(headerless) is newer  # no call named: the agent's talk
