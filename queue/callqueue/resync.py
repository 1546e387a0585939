"""Resynchronising the tracker after an AMI outage from `CoreShowChannels` and `QueueStatus`.

While the connection is down Asterisk's events are lost. After every (re)login the
tracker asks for the live channels, then for the queues, and applies both snapshots at
the point of the stream where the `QueueStatus` list ends (so events before it are
already applied and events after it come after), with these rules:

- a caller waiting in a queue that the tracker knows waiting there: kept as it is (its
  join time is exact); one it does not know (joined during the outage): a new entry,
  joined `Wait` whole seconds before the snapshot (the only time Asterisk gives), with
  `queued` (and `started`) facts;
- an entry the tracker holds as waiting that is gone from the queue, of a call whose
  caller is now bridged with an agent: answered during the outage. Its `answered` fact
  waits for the `AgentComplete`, whose `HoldTime` and `TalkTime` give the wait;
- a call the tracker holds that has no channel left and no event since the login:
  it ended during the outage; a waiting entry of it is counted abandoned, at the
  snapshot time (the latest it can have ended);
- a caller never seen who is in `Queue()` and bridged with an agent: joined and
  answered during the outage (joined `Duration` seconds ago, the wait at AgentComplete);
- nothing the tracker already knows is counted again: entries are matched by call and
  queue, so a second resync of the same state changes nothing;
- an event between the login and the resync of a call the tracker does not know (it
  began unseen) is held (`holds`) until the resync has told the call, then handled:
  handled at once it would open the call bare, with no queue entry, and the resync
  would leave a call with news since the login alone; what queue_log told already is
  not told again (an answer, an abandon or a completion told twice is one);
- a call that came and went inside the outage leaves no trace but Asterisk's queue
  counters (`QueueParams` Completed + Abandoned): the difference from what the tracker
  saw since the last resync is counted in `unseen["missed"]` and logged.

After a restart of the tracker (a new process: `checkpoint` gave it its predecessor's
open calls) and whenever Asterisk's queue_log is at hand (`use_queue_log`):

- a call with no channel left is told from queue_log first (`CONNECT`, `COMPLETE*`,
  `TRANSFER`, `ABANDON` replayed as the events they stand for, the end at the last
  line); only what queue_log does not tell falls to the estimates above;
- a call the AGI ticketed while no tracker ran (`OutageRecord.tickets`, read back from
  the fact stream), gone from Asterisk and never told ended: its stay is replayed from
  queue_log from `ENTERQUEUE` on, then it ends;
- a call queue_log tells whole (`ENTERQUEUE` from a while before the tracker before went
  away, to the end of its stay) that no fact read back, open call, ticket or live
  channel covers: it came and went unseen and never reached the AGI. It is told from
  queue_log alone (`started` at its `ENTERQUEUE` with the caller's number logged there,
  its stay, `ended` at its last line), its Linkedid the call id, before the live calls'
  answers are applied (a replayed `AgentComplete` frees its agent at its own time).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable

from callqueue import agent_facts
from callqueue.agents import AgentBoard
from callqueue.call_book import CallBook
from callqueue.calls import CallState, QueueEntry
from callqueue.event_values import as_int, utc
from callqueue.outage_record import OutageRecord
from core.ami.parser import AmiMessage
from core.facts import (
    AgentsPresent,
    CallFact,
    CallQueued,
    CallTicketed,
    MemberSeen,
)
from core.queue_log import QueueLogRecord

log = logging.getLogger(__name__)

# Events that open a call from what they show (the rest need the call's past).
OPENS_A_CALL = frozenset({"Newchannel", "QueueCallerJoin"})


class Resync:
    """`begin` at login, `apply` when both snapshots have arrived."""

    def __init__(
        self,
        book: CallBook,
        agents: AgentBoard,
        handle: Callable[[AmiMessage], list[CallFact]],
    ) -> None:
        """`handle`: the tracker's own, for the events held until the resync (`holds`)."""
        self._book = book
        self._agents = agents
        self._handle = handle
        # Linkedids seen since the login, while resyncing (None otherwise): the tracker
        # notes each event's here, the cheap check first.
        self.touched: set[str] | None = None
        # Events meanwhile of calls the tracker does not know (see `holds`), handed to
        # the tracker once the resync has told those calls.
        self.held: list[AmiMessage] = []
        # What resyncs found that no event had shown: joins, answers and ended calls.
        self.unseen = {"joined": 0, "answered": 0, "ended": 0, "missed": 0}
        self._asterisk_outcomes: dict[str, int] = {}  # Completed + Abandoned at last resync
        self._members_told: frozenset[MemberSeen] | None = None  # the last AgentsPresent's
        # queue_log and the facts of an outage, read at a login (see `outage_record`)
        self.record = OutageRecord(book)

    def begin(self) -> None:
        """Start noting which calls show life after the login (they are not stale)."""
        self.touched = set()

    def cancel(self) -> None:
        """The snapshots will not come (the session died): stop noting events. The held
        ones are dropped: the next login's resync tells their calls from the snapshots
        and queue_log, as it would have."""
        self.touched = None
        if self.held:
            log.warning("AMI resync cancelled: %d held event(s) dropped", len(self.held))
        self.held = []

    def holds(self, message: AmiMessage) -> bool:
        """Hold an event of a call the tracker does not know, between a login and its
        resync (the call began while no tracker saw it: a restart, an outage), until the
        resync has told the call; handled now, it would open it bare (no queue entry),
        and the resync would leave a call with news since the login alone."""
        if message.name in OPENS_A_CALL:
            return False
        linkedid = message.get("Linkedid")
        if not linkedid or linkedid in self._book.calls:
            return False
        self.held.append(message)
        return True

    def note_event(self, message: AmiMessage) -> None:
        if self.touched is not None:
            linkedid = message.get("Linkedid")
            if linkedid:
                self.touched.add(linkedid)

    def apply(
        self, channels: Iterable[AmiMessage], queue_status: Iterable[AmiMessage], at: float
    ) -> list[CallFact]:
        """Bring the open calls in line with the two snapshots; the facts that follows."""
        touched = self.touched or set()
        self.touched = None
        held, self.held = self.held, []
        held_calls = {message.get("Linkedid") for message in held}
        calls = self._book.calls
        # queue_log's call ids of the calls known, before any is closed
        record = self.record
        told = record.told_before() if record.unseen_since is not None else set()
        by_channel: dict[str, AmiMessage] = {}
        alive: set[str] = set()
        for message in channels:
            if message.name != "CoreShowChannel":
                continue
            by_channel[message.get("Channel")] = message
            alive.add(message.get("Linkedid"))
        facts: list[CallFact] = []
        still_waiting: set[tuple[str, str]] = set()  # (linkedid, queue)
        members: set[str] = set()
        seen: list[MemberSeen] = []
        params: list[AmiMessage] = []
        for message in queue_status:
            if message.name == "QueueEntry":
                facts += self._resync_waiting(message, by_channel, at, still_waiting)
            elif message.name == "QueueMember":
                members.add(self._resync_member(message, at))
                member = agent_facts.member_seen(message, at)
                if member is not None:
                    seen.append(member)
            elif message.name == "QueueParams":
                params.append(message)
        if record.unseen_since is not None:
            # Before the live calls' answers are applied: a replayed AgentComplete leaves
            # its agent free at its time, and an agent talking now must stay talking.
            # (with the waiting callers just added; a held call is told by its ticket,
            # the snapshots or, unknown to both, by its events as before)
            told |= record.told_before() | touched | held_calls
            told |= {message.get("Uniqueid") for message in by_channel.values()}  # alive
            for callid, lines in list(record.unseen(told)):
                facts += self._only_in_queue_log(callid, lines, at)
        for message in by_channel.values():
            if (
                message.get("Application") == "Queue"
                and message.get("BridgeId")
                and message.get("Linkedid") not in calls
                and message.get("Linkedid") not in touched
            ):
                facts += self._joined_and_answered_in_outage(message, by_channel, at)
        for call in list(calls.values()):
            if call.linkedid not in alive and call.linkedid not in touched:
                facts += self._ended_in_outage(call, at)
                continue
            for entry in call.entries:
                if entry.outcome == "waiting" and (call.linkedid, entry.queue) not in still_waiting:
                    self._answered_in_outage(call, entry, by_channel, at)
        for linkedid, (ticketed, told_at) in record.tickets.items():
            if (
                linkedid not in calls
                and linkedid not in alive
                and linkedid not in touched
                and linkedid not in record.ended
            ):
                facts += self._came_and_went(ticketed, told_at, at, linkedid not in held_calls)
        facts += self._continue_held(held, held_calls, alive, at)
        record.forget_outage()
        self._resync_agents(members, at)
        self._reconcile(params)
        # Every member Asterisk has now: the recorder closes sessions missing from it.
        # Told when it differs from the last one told (a tracker that starts tells it).
        snapshot = frozenset(seen)
        if snapshot != self._members_told:
            self._members_told = snapshot
            facts.append(AgentsPresent(members=seen, at=utc(at)))
        return facts

    def _continue_held(
        self, held: list[AmiMessage], calls: set[str], alive: set[str], at: float
    ) -> list[CallFact]:
        """The events held since the login, now that the resync has told their calls
        (what queue_log told already is not told again); a call they leave open that
        Asterisk no longer has ended by the snapshot."""
        facts: list[CallFact] = []
        for message in held:
            facts += self._handle(message)
        for linkedid in sorted(calls - alive):
            call = self._book.calls.get(linkedid)
            if call is not None:
                facts += self._ended_in_outage(call, at)
        return facts

    def _came_and_went(
        self, ticketed: CallTicketed, told_at: float, at: float, ended: bool = True
    ) -> list[CallFact]:
        """A call that started and ended while the tracker was down: the AGI told its
        ticket (and its channel's Uniqueid) at `told_at`, queue_log tells its queue stay.
        Not `ended`: its end is among the events held since the login (`holds`)."""
        started_at = told_at  # on Redis's clock: the records' own times are Asterisk's
        call = self._book.open(ticketed.linkedid, started_at)
        call.learn_caller(ticketed.caller_num, ticketed.caller_name)
        call.uin = ticketed.uin
        lines = self.record.queue_log.get(ticketed.uniqueid, []) if ticketed.uniqueid else []
        facts, last = self.record.replay_stays(call, lines)
        if call.entries:
            self.record.closed_from_queue_log += 1
        if not ended:
            return facts
        return facts + self._ended_in_outage(call, min(at, last) if last else at)

    def _only_in_queue_log(
        self, callid: str, records: list[QueueLogRecord], at: float
    ) -> list[CallFact]:
        """A call known only from queue_log: it started (for Hotline) when it entered the
        queue, with the caller's number `ENTERQUEUE` logged; its stay is replayed (the
        wait is app_queue's HoldTime), and it ends at its last line."""
        enter = records[0]
        call = self._book.open(callid, float(enter.at))
        call.learn_caller(enter.field("caller_num"), enter.field("caller_name"))
        facts: list[CallFact] = [self._book.started(call)]
        stay, last = self.record.replay_stays(call, records)
        self.record.found_in_queue_log += 1
        self.record.closed_from_queue_log += 1
        log.warning(
            "call %s (queue %s, caller %r) came and went while no tracker ran and reached no "
            "AGI: told from queue_log",
            callid,
            enter.queue,
            call.caller_num,
        )
        return facts + stay + self._ended_in_outage(call, min(at, last) if last else at)

    def _reconcile(self, params: list[AmiMessage]) -> None:
        """Calls that joined and left a queue while we were away leave no trace but
        Asterisk's counters: count (and log) how many the figures lack."""
        for message in params:
            queue = message.get("Queue")
            done = (as_int(message.get("Completed")) or 0) + (as_int(message.get("Abandoned")) or 0)
            before = self._asterisk_outcomes.get(queue)
            seen = self._book.take_outcomes_seen(queue)
            if before is not None and done - before > seen:
                missed = done - before - seen
                self.unseen["missed"] += missed
                log.warning(
                    "queue %s: %d call(s) came and went during the AMI outage, unseen: "
                    "they are missing from the figures",
                    queue,
                    missed,
                )
            self._asterisk_outcomes[queue] = done

    def _resync_member(self, message: AmiMessage, at: float) -> str:
        """Apply a `QueueMember` list item (it says Name/Location for MemberName/Interface)."""
        name = message.get("Name") or message.get("MemberName")
        lines = ["Event: QueueMemberStatus"]
        for line in message.text.replace("\r\n", "\n").split("\n")[1:]:
            key, sep, value = line.partition(": ")
            key = {"Name": "MemberName", "Location": "Interface"}.get(key, key)
            if sep and key != "CallsTaken":
                lines.append(f"{key}: {value}")
        known = self._agents.agents.get(name)
        taken = as_int(message.get("CallsTaken"))
        if known is not None and taken is not None and taken > known.calls_taken:
            # Calls completed while we were away still count for today.
            known.calls_today += taken - known.calls_taken
        if taken is not None:
            lines.append(f"CallsTaken: {taken}")
        self._agents.on_member_status(AmiMessage("\n".join(lines), at), at)
        return name

    def _resync_agents(self, members: set[str], at: float) -> None:
        """Agents gone from every queue are removed; one shown busy with a call that is
        over is free again."""
        agents = self._agents
        for name in [name for name in agents.agents if name not in members]:
            agents.remove(name)
        calls = self._book.calls
        talking = {
            (entry.agent, call.linkedid)
            for call in calls.values()
            for entry in call.entries
            if entry.answered and not entry.completed
        }
        for agent in agents.agents.values():
            if (
                agent.status in ("talking", "ringing")
                and (agent.name, agent.linkedid) not in talking
            ):
                if agent.status == "ringing" and agent.linkedid in calls:
                    continue
                agents.free(agent.name, at)

    def _resync_waiting(
        self,
        message: AmiMessage,
        by_channel: dict[str, AmiMessage],
        at: float,
        still_waiting: set[tuple[str, str]],
    ) -> list[CallFact]:
        channel = message.get("Channel")
        queue = message.get("Queue")
        shown = by_channel.get(channel)
        linkedid = shown.get("Linkedid") if shown is not None else ""
        if not linkedid:
            return []  # the channel is newer than the channel list: seen live
        still_waiting.add((linkedid, queue))
        call = self._book.calls.get(linkedid)
        facts: list[CallFact] = []
        if call is not None:
            # A NewCallerid may have come while we were away: the entry shows the caller ID.
            facts += self._book.caller_seen(call, message)
            entry = call.open_entry(queue)
            if entry is not None and entry.outcome == "waiting":
                entry.position = as_int(message.get("Position")) or entry.position
                return facts
        joined_at = at - (as_int(message.get("Wait")) or 0)
        self.unseen["joined"] += 1
        if call is None:
            call = self._book.open(linkedid, joined_at)
            call.channel = channel
            call.learn_caller(message.get("CallerIDNum"), message.get("CallerIDName"))
            facts.append(self._book.started(call))
        call.channels |= _channels_of(linkedid, by_channel)
        call.caller_channels.add(channel)
        entry = QueueEntry(
            linkedid=linkedid,
            entry=len(call.entries) + 1,
            queue=queue,
            channel=channel,
            caller_num=call.caller_num,
            caller_name=call.caller_name,
            position=as_int(message.get("Position")) or 0,
            joined_at=joined_at,
            join_estimated=True,
            uniqueid=message.get("Uniqueid") or (shown.get("Uniqueid") if shown else ""),
        )
        self._book.add_entry(call, entry)
        facts.append(
            CallQueued(
                linkedid=linkedid,
                queue=queue,
                at=utc(joined_at),
                position=entry.position,
                entry=entry.entry,
                uniqueid=entry.uniqueid,
            )
        )
        return facts

    def _joined_and_answered_in_outage(
        self, message: AmiMessage, by_channel: dict[str, AmiMessage], at: float
    ) -> list[CallFact]:
        """A caller we never saw, in `Queue()` and bridged: joined and answered while we
        were away. It joined about when its channel was made (`Duration`, whole
        seconds); the answer and the wait come with the AgentComplete."""
        linkedid = message.get("Linkedid")
        channel = message.get("Channel")
        queue = message.get("ApplicationData").split(",")[0]
        fake_entry = AmiMessage(
            f"Event: QueueEntry\nQueue: {queue}\nChannel: {channel}\nPosition: 0\n"
            f"Uniqueid: {message.get('Uniqueid')}\n"
            f"CallerIDNum: {message.get('CallerIDNum')}\n"
            f"CallerIDName: {message.get('CallerIDName')}\n"
            f"Wait: {_seconds(message.get('Duration'))}",
            at,
        )
        facts = self._resync_waiting(fake_entry, by_channel, at, set())
        call = self._book.calls.get(linkedid)
        if call is not None and call.entries:
            self._answered_in_outage(call, call.entries[-1], by_channel, at)
        return facts

    def _answered_in_outage(
        self, call: CallState, entry: QueueEntry, by_channel: dict[str, AmiMessage], at: float
    ) -> None:
        """The caller left the queue while we were away; bridged to an agent = answered."""
        shown = by_channel.get(entry.channel)
        bridge = shown.get("BridgeId") if shown is not None else ""
        if not bridge:
            return  # left unanswered (a Redirect): its events will tell
        for name, other in by_channel.items():
            if name == entry.channel or other.get("BridgeId") != bridge:
                continue
            agent = self._book.agent_by_channel.get(name) or self._agents.member_of(name)
            if agent:
                self.unseen["answered"] += 1
                entry.answered = True
                entry.answer_pending = True  # the AgentComplete gives the wait
                entry.agent = agent
                entry.agent_channel = name
                call.current_agent = agent
                call.connected = True
                self._book.connect(entry)
                self._agents.on_call(agent, at, call.linkedid)
                return

    def _ended_in_outage(self, call: CallState, at: float) -> list[CallFact]:
        self.unseen["ended"] += 1
        facts, logged_at = self.record.tell_ended(call)
        if logged_at is not None:
            at = min(at, max(logged_at, call.started_at))
        for entry in call.entries:
            if entry.answered and not entry.completed:
                self._book.count_outcome(entry.queue)  # its AgentComplete came while away
                if self._book.talking.get((entry.queue, entry.agent)) is entry:
                    del self._book.talking[(entry.queue, entry.agent)]  # none will come
        facts += self._book.abandon_waiting(call, at)  # gave up while it was away
        facts.append(self._book.end(call, at))
        return facts


def _channels_of(linkedid: str, by_channel: dict[str, AmiMessage]) -> set[str]:
    return {name for name, m in by_channel.items() if m.get("Linkedid") == linkedid}


def _seconds(duration: str) -> int:
    """`HH:MM:SS` (CoreShowChannel's Duration) in seconds; 0 if unreadable."""
    parts = duration.split(":")
    if not all(part.isdigit() for part in parts):
        return 0
    total = 0
    for part in parts:
        total = total * 60 + int(part)
    return total
