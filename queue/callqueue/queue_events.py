"""Queue and agent events: entries, ringing, answer, abandon, completion, member state."""

from __future__ import annotations

import logging

from callqueue import agent_facts
from callqueue.agents import AgentBoard
from callqueue.call_book import CallBook, abandoned
from callqueue.calls import QueueEntry
from callqueue.event_values import as_int, checked_wait, estimated_wait, utc
from callqueue.tickets import ticketed
from callqueue.transfers import Transfers
from core.ami.parser import AmiMessage
from core.facts import (
    CallAnswered,
    CallCompleted,
    CallFact,
    CallQueued,
    CallRinging,
)

log = logging.getLogger(__name__)

# AgentComplete reasons that say who hung up.
HANGUP_REASONS = {"caller", "agent"}


class QueueEvents:
    """Handlers for queue entries and agents (members) of the queues."""

    def __init__(self, book: CallBook, transfers: Transfers, agents: AgentBoard) -> None:
        self._book = book
        self._transfers = transfers
        self._agents = agents

    def on_ami_QueueCallerJoin(self, message: AmiMessage, at: float) -> list[CallFact]:
        facts = self._transfers.check(message, at)
        call = self._book.call(message, at)
        channel = message.get("Channel")
        position = as_int(message.get("Position")) or 0
        if _waiting_there(call.open_entry(message.get("Queue")), channel, position):
            # The same join told twice (a repeated event, a replayed read): one entry.
            return facts
        facts += self._book.caller_seen(call, message)
        entry = QueueEntry(
            linkedid=call.linkedid,
            entry=len(call.entries) + 1,
            queue=message.get("Queue"),
            channel=channel,
            caller_num=call.caller_num,
            caller_name=call.caller_name,
            position=position,
            joined_at=at,
            uniqueid=message.get("Uniqueid"),
        )
        self._book.add_entry(call, entry)
        call.caller_channels.add(entry.channel)
        call.transferring = False
        facts += ticketed(call, message)
        facts.append(
            CallQueued(
                linkedid=call.linkedid,
                queue=entry.queue,
                at=utc(at),
                position=entry.position,
                entry=entry.entry,
                uniqueid=entry.uniqueid,
            )
        )
        return facts

    def on_ami_AgentCalled(self, message: AmiMessage, at: float) -> list[CallFact]:
        call = self._book.call(message, at)
        entry = call.open_entry(message.get("Queue"))
        agent = message.get("MemberName")
        self._book.agent_by_channel[message.get("DestChannel")] = agent
        self._agents.ringing(message, at, call.linkedid)
        facts = ticketed(call, message)
        if entry is not None:
            facts.append(
                CallRinging(
                    linkedid=call.linkedid,
                    queue=entry.queue,
                    agent=agent,
                    entry=entry.entry,
                    at=utc(at),
                )
            )
        return facts

    def on_ami_AgentRingNoAnswer(self, message: AmiMessage, at: float) -> list[CallFact]:
        call = self._book.calls.get(message.get("Linkedid"))
        entry = call.open_entry(message.get("Queue")) if call else None
        if entry is not None:
            entry.ring_no_answer += 1
        self._agents.ring_ended(message.get("MemberName"), at)
        return list(agent_facts.ring_no_answer(message, at))

    def on_ami_AgentConnect(self, message: AmiMessage, at: float) -> list[CallFact]:
        call = self._book.call(message, at)
        entry = call.open_entry(message.get("Queue"))
        if entry is None:
            log.warning("AgentConnect for %s with no queue entry seen", call.linkedid)
            return []
        if entry.answered and not entry.answer_pending and entry.agent == message.get("MemberName"):
            return []  # told already (queue_log's CONNECT replayed at a resync, a repeat)
        entry.answer_pending = False
        hold_time_s = as_int(message.get("HoldTime"))
        entry.answered = True
        entry.answered_at = at
        entry.agent = message.get("MemberName")
        entry.agent_channel = message.get("DestChannel")
        entry.wait_s = wait_of(entry, at, hold_time_s)
        entry.wait_whole_s = (
            hold_time_s if hold_time_s is not None else int(at) - int(entry.joined_at)
        )
        entry.connect_location = (message.get("Context"), message.get("Exten"))
        call.current_agent = entry.agent
        call.transferring = False
        call.connected = True
        self._book.connect(entry)
        self._transfers.watch.forget_channel(entry.channel)  # it left the queue to be answered
        self._agents.connected(message, at, call.linkedid)
        facts = ticketed(call, message)
        facts.append(
            CallAnswered(
                linkedid=call.linkedid,
                queue=entry.queue,
                agent=entry.agent,
                wait_s=round(entry.wait_s, 6),
                wait_whole_s=entry.wait_whole_s,
                entry=entry.entry,
                at=utc(at),
            )
        )
        return facts

    def on_ami_QueueCallerAbandon(self, message: AmiMessage, at: float) -> list[CallFact]:
        call = self._book.call(message, at)
        entry = call.open_entry(message.get("Queue"))
        if entry is not None and entry.abandoned:
            return []  # told already (queue_log's ABANDON replayed at a resync, a repeat)
        self._book.count_outcome(message.get("Queue"))
        if entry is None:
            return []
        hold_time_s = as_int(message.get("HoldTime"))
        entry.abandoned = True
        entry.wait_s = wait_of(entry, at, hold_time_s)
        entry.wait_whole_s = (
            hold_time_s if hold_time_s is not None else int(at) - int(entry.joined_at)
        )
        entry.abandon_position = as_int(message.get("Position")) or 0
        entry.original_position = as_int(message.get("OriginalPosition")) or 0
        call.hung_up_by = "caller"
        return [abandoned(call, entry, at, entry.abandon_position, entry.original_position)]

    def on_ami_QueueCallerLeave(self, message: AmiMessage, at: float) -> list[CallFact]:
        call = self._book.calls.get(message.get("Linkedid"))
        entry = call.open_entry(message.get("Queue")) if call else None
        if entry is not None and entry.left_at is None:
            entry.left_at = at
            if not entry.answered and not entry.abandoned:
                # Answered calls leave just before AgentConnect; a caller who left unanswered
                # and turns up elsewhere was moved (a Redirect of a waiting caller).
                entry.connect_location = (message.get("Context"), message.get("Exten"))
                if entry.channel:  # not one told from queue_log, which names no channel
                    self._transfers.watch.arm(entry.channel, entry)
        return []

    def on_ami_AgentComplete(self, message: AmiMessage, at: float) -> list[CallFact]:
        book = self._book
        entry = book.talking_entry(message)
        if entry is not None and entry.completed:
            return []  # told already (queue_log's COMPLETE* replayed at a resync, a repeat)
        book.count_outcome(message.get("Queue"))
        self._agents.completed(message, at)
        if entry is None:
            log.warning(
                "AgentComplete of %s in %s matches no open call",
                message.get("MemberName"),
                message.get("Queue"),
            )
            return []
        book.talking.pop((entry.queue, entry.agent), None)
        entry.completed = True
        entry.complete_reason = message.get("Reason")
        entry.talk_s = float(as_int(message.get("TalkTime")) or 0)
        facts: list[CallFact] = []
        if entry.answer_pending:
            facts.append(self._late_answer(entry, message, at))
        facts.append(
            CallCompleted(
                linkedid=entry.linkedid,
                queue=entry.queue,
                agent=entry.agent,
                talk_s=entry.talk_s,
                reason=entry.complete_reason,
                entry=entry.entry,
                at=utc(at),
            )
        )
        facts += self._transfers.confirm_entry(entry)
        call = book.calls.get(entry.linkedid)
        if call is None:
            return facts
        if entry.complete_reason in HANGUP_REASONS and not call.transferring:
            call.hung_up_by = entry.complete_reason
        if "Linkedid" in message:
            facts += ticketed(call, message)
        return facts

    def _late_answer(self, entry: QueueEntry, message: AmiMessage, at: float) -> CallFact:
        """The answer of an entry answered during an AMI outage (see `resync`): the
        answer time is the end less TalkTime, checked against HoldTime."""
        entry.answer_pending = False
        hold_time_s = as_int(message.get("HoldTime"))
        entry.answered_at = at - entry.talk_s
        entry.wait_s = estimated_wait(entry.joined_at, entry.answered_at, hold_time_s)
        entry.wait_whole_s = hold_time_s if hold_time_s is not None else int(entry.wait_s)
        return CallAnswered(
            linkedid=entry.linkedid,
            queue=entry.queue,
            agent=entry.agent,
            wait_s=round(entry.wait_s, 6),
            wait_whole_s=entry.wait_whole_s,
            entry=entry.entry,
            at=utc(entry.answered_at),
        )

    # -- agents -------------------------------------------------------------------

    def on_ami_QueueMemberStatus(self, message: AmiMessage, at: float) -> list[CallFact]:
        self._agents.on_member_status(message, at)
        return []

    on_ami_QueueMember = on_ami_QueueMemberStatus

    def on_ami_QueueMemberAdded(self, message: AmiMessage, at: float) -> list[CallFact]:
        self._agents.on_member_status(message, at)
        return list(agent_facts.logged_in(message, at))

    def on_ami_QueueMemberPause(self, message: AmiMessage, at: float) -> list[CallFact]:
        self._agents.on_member_pause(message, at)
        fact = agent_facts.paused(message, at)
        return [fact] if fact is not None else []

    def on_ami_QueueMemberRemoved(self, message: AmiMessage, at: float) -> list[CallFact]:
        self._agents.on_member_removed(message, at)
        return list(agent_facts.logged_out(message, at))


def wait_of(entry: QueueEntry, end: float, hold_time_s: int | None) -> float:
    """The entry's wait to `end`: from its join time, or, when the resync could only
    estimate that (it joined while no tracker saw it), from both that and HoldTime."""
    if entry.join_estimated:
        return estimated_wait(entry.joined_at, end, hold_time_s)
    return checked_wait(entry.joined_at, end, hold_time_s)


def _waiting_there(entry: QueueEntry | None, channel: str, position: int) -> bool:
    """`entry` is this channel still waiting in the queue at `position`."""
    return (
        entry is not None
        and entry.channel == channel
        and entry.position == position
        and not (entry.answered or entry.abandoned or entry.left_at is not None)
    )
