"""The calls the tracker knows: open and finished calls, every queue entry, who talks where."""

from __future__ import annotations

from collections.abc import Callable

from callqueue.calls import CallState, QueueEntry
from callqueue.event_values import utc
from core.ami.parser import AmiMessage
from core.facts import CallAbandoned, CallEnded, CallFact, CallStarted


class CallBook:
    """Open calls by Linkedid, and the maps the event handlers share to find them.

    - `agent_by_channel`: the member each agent-side channel rings or talks for;
    - `talking`: the answered entry each (queue, member) talks to (AgentComplete at
      times comes without the caller's channel headers, after the call's end);
    - `outcomes_seen`: completions and abandons per queue since the last resync, to
      check against Asterisk's counters.
    """

    def __init__(
        self,
        keep_finished: bool = False,
        on_call_finished: Callable[[CallState], None] | None = None,
    ) -> None:
        self.calls: dict[str, CallState] = {}
        self.finished: list[CallState] = []  # with `keep_finished`
        self.agent_by_channel: dict[str, str] = {}
        self.talking: dict[tuple[str, str], QueueEntry] = {}  # (queue, member) -> entry
        self.outcomes_seen: dict[str, int] = {}
        self._entry_log: list[QueueEntry] = []  # every entry, with `keep_finished`
        self._keep_finished = keep_finished
        self._on_call_finished = on_call_finished

    # -- reading ------------------------------------------------------------------------

    def entries(self) -> list[QueueEntry]:
        """Queue entries in order of joining: all seen with `keep_finished`, else those
        of the open calls."""
        if self._keep_finished:
            return list(self._entry_log)
        return [entry for call in self.calls.values() for entry in call.entries]

    def longest_wait_now_s(self, now: float, queue: str | None = None) -> float:
        """How long the longest-waiting caller still in a queue has waited so far."""
        waits = [
            now - entry.joined_at
            for call in self.calls.values()
            for entry in call.entries
            if entry.outcome == "waiting" and (queue is None or entry.queue == queue)
        ]
        return max(waits, default=0.0)

    def talking_entry(self, message: AmiMessage) -> QueueEntry | None:
        """The answered entry an Agent* event is about; AgentComplete at times comes
        without caller channel headers, so match by queue and member first."""
        queue = message.get("Queue")
        entry = self.talking.get((queue, message.get("MemberName")))
        linkedid = message.get("Linkedid")
        call = self.calls.get(linkedid)
        if entry is not None and call is not None and entry.linkedid != linkedid:
            # The event names an open call of its own that talks in this queue (an
            # AgentComplete queue_log tells of the agent's call before, at a resync): its.
            own = call.open_entry(queue)
            if own is not None and own.answered and not own.completed:
                return own
        # An entry of an ended call answers only an event without another call's headers.
        if entry is not None and (entry.linkedid in self.calls or linkedid in ("", entry.linkedid)):
            return entry
        return call.open_entry(queue) if call else None

    # -- changing -----------------------------------------------------------------------

    def open(self, linkedid: str, at: float) -> CallState:
        """The open call `linkedid`, started at `at` if it is new."""
        call = self.calls.get(linkedid)
        if call is None:
            call = self.calls[linkedid] = CallState(linkedid=linkedid, started_at=at)
        return call

    def call(self, message: AmiMessage, at: float, key: str = "Linkedid") -> CallState:
        """The call an event is about; one never seen (the tracker joined mid-call)
        starts from what this event shows."""
        linkedid = message.get(key)
        if not linkedid:
            raise KeyError(f"{message.name} without {key}")
        return self.open(linkedid, at)

    def started(self, call: CallState) -> CallStarted:
        """The call's `started` fact as of what is known of it now (told again when the
        caller's number or name comes later)."""
        return CallStarted(
            linkedid=call.linkedid,
            channel=call.channel,
            at=utc(call.started_at),
            caller_num=call.caller_num,
            caller_name=call.caller_name,
            dialled=call.dialled,
        )

    def caller_seen(self, call: CallState, message: AmiMessage) -> list[CallFact]:
        """The caller ID an event's channel block shows: `started` told again when it
        names the caller better. Only the caller's own channels count (an agent's channel,
        or the Local channel of an agent's attended transfer into a queue, carries the
        agent's on a SIP phone), unless nothing is known yet (a call first seen there)."""
        if message.get("Channel") not in call.caller_channels and (
            call.caller_num or call.caller_name
        ):
            return []
        if not call.learn_caller(message.get("CallerIDNum"), message.get("CallerIDName")):
            return []
        call.channel = call.channel or message.get("Channel")
        return [self.started(call)]

    def add_entry(self, call: CallState, entry: QueueEntry) -> None:
        call.entries.append(entry)
        if self._keep_finished:
            self._entry_log.append(entry)

    def connect(self, entry: QueueEntry) -> None:
        """The caller of `entry` talks to `entry.agent` on `entry.agent_channel`."""
        self.talking[(entry.queue, entry.agent)] = entry
        self.agent_by_channel[entry.agent_channel] = entry.agent

    def count_outcome(self, queue: str) -> None:
        self.outcomes_seen[queue] = self.outcomes_seen.get(queue, 0) + 1

    def take_outcomes_seen(self, queue: str) -> int:
        """The count of `queue` since the last call, which starts it again from 0."""
        return self.outcomes_seen.pop(queue, 0)

    def abandon_waiting(self, call: CallState, at: float) -> list[CallAbandoned]:
        """Entries still waiting in their queue when the caller's call ends: the caller
        gave up while the AMI session was away (the QueueCallerAbandon lost, the Hangup
        seen after the reconnection). Abandoned at the end: the latest they can have left."""
        facts = []
        for entry in call.entries:
            if entry.outcome != "waiting":
                continue
            self.count_outcome(entry.queue)
            entry.abandoned = True
            entry.wait_s = max(at - entry.joined_at, 0.0)
            entry.wait_whole_s = int(at) - int(entry.joined_at)
            entry.left_at = at
            facts.append(abandoned(call, entry, at, entry.position, entry.position))
        return facts

    def end(self, call: CallState, at: float) -> CallEnded:
        """Close the call: it leaves the open calls (kept in `finished` if asked)."""
        call.ended_at = at
        del self.calls[call.linkedid]
        # Its talking entries stay (until their AgentComplete, or the member's next
        # AgentConnect): app_queue sends a caller's AgentComplete from its stasis thread,
        # after the caller's Hangup and without the caller's headers when the channel is
        # gone by then (tests/fixtures/asterisk-tier/tracker-away-while-a-call-ends.ami.txt).
        if self._keep_finished:
            self.finished.append(call)
        if self._on_call_finished is not None:
            self._on_call_finished(call)
        answered = any(entry.answered for entry in call.entries)
        hung_up_by = call.hung_up_by or ("caller" if not answered else "unknown")
        return CallEnded(
            linkedid=call.linkedid, talk_s=call.talk_s, at=utc(at), hung_up_by=hung_up_by
        )  # type: ignore[arg-type]


def abandoned(
    call: CallState,
    entry: QueueEntry,
    at: float,
    position: int | None,
    original_position: int | None,
) -> CallAbandoned:
    """The fact of `entry` given up at `at` (its waits set already)."""
    return CallAbandoned(
        linkedid=call.linkedid,
        queue=entry.queue,
        wait_s=round(entry.wait_s, 6),
        wait_whole_s=entry.wait_whole_s,
        at=utc(at),
        position=position,
        original_position=original_position,
        entry=entry.entry,
    )
