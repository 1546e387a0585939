"""What the tracker remembers about a call while it lasts: queue entries and transfers."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from core.caller_id import later_wins
from core.service_level import EntryOutcome as Outcome

EntryOutcome = Literal["waiting", "answered", "abandoned", "left"]
TransferKind = Literal["blind", "attended", "redirect"]


@dataclass
class Transfer:
    """One transfer of the call; `n` counts transfers of the whole call from 1."""

    n: int
    kind: TransferKind
    to: str
    context: str
    from_agent: str
    at: float


@dataclass
class QueueEntry:
    """One stay of the call in one queue: from QueueCallerJoin to answer or abandon."""

    linkedid: str
    entry: int
    queue: str
    channel: str
    caller_num: str
    caller_name: str
    position: int
    joined_at: float
    answered: bool = False
    abandoned: bool = False
    left_at: float | None = None
    agent: str = ""
    agent_channel: str = ""
    answered_at: float | None = None
    wait_s: float | None = None  # float seconds, from timestamps (HoldTime as the check)
    wait_whole_s: int | None = None  # whole seconds as app_queue counts them (HoldTime)
    abandon_position: int | None = None
    original_position: int | None = None
    ring_no_answer: int = 0
    completed: bool = False
    complete_reason: str = ""
    talk_s: float = 0.0
    # where the caller was in the dialplan during the queue call: at answer, or on
    # leaving unanswered; a move away from it without a transfer event is a Redirect
    connect_location: tuple[str, str] = ("", "")
    # after an AMI outage (see `resync`): the join time is `Wait` whole seconds before
    # the snapshot, and an answer seen only as a bridge waits for AgentComplete's HoldTime
    join_estimated: bool = False
    answer_pending: bool = False
    transfers: list[Transfer] = field(default_factory=list)
    # the queue-side channel's Uniqueid: app_queue's call id in queue_log
    uniqueid: str = ""

    @property
    def outcome(self) -> EntryOutcome:
        if self.answered:
            return "answered"
        if self.abandoned:
            return "abandoned"
        return "left" if self.left_at is not None else "waiting"

    def as_outcome(self) -> Outcome:
        """What the service-level maths reads of this entry."""
        return Outcome(self.queue, self.outcome, self.wait_s, self.wait_whole_s, self.completed)


@dataclass
class CallState:
    """One caller's call, across channels and transfers, keyed by Linkedid."""

    linkedid: str
    started_at: float
    channel: str = ""
    caller_num: str = ""
    caller_name: str = ""
    dialled: str = ""
    uin: str = ""
    ticket_ref: str = ""
    channels: set[str] = field(default_factory=set)
    caller_channels: set[str] = field(default_factory=set)
    entries: list[QueueEntry] = field(default_factory=list)
    transfers: list[Transfer] = field(default_factory=list)
    current_agent: str = ""
    connected: bool = False  # the caller talks to the agent who answered (or a target)
    transferring: bool = False  # between a transfer and the caller's next connection
    hung_up_by: str = ""
    ended_at: float | None = None

    def learn_caller(self, num: str, name: str) -> bool:
        """Take the caller's number and name that an event reports (a later known value
        wins, `<unknown>` never does); True when they changed. The queue entries are the
        same caller's, so they follow (the live state shows a waiting caller's number)."""
        num, name = later_wins(self.caller_num, num), later_wins(self.caller_name, name)
        if (num, name) == (self.caller_num, self.caller_name):
            return False
        self.caller_num, self.caller_name = num, name
        for entry in self.entries:
            entry.caller_num, entry.caller_name = num, name
        return True

    def open_entry(self, queue: str) -> QueueEntry | None:
        """The latest entry of the call into `queue` (entries are per queue stay)."""
        for entry in reversed(self.entries):
            if entry.queue == queue:
                return entry
        return None

    @property
    def talk_s(self) -> float:
        return sum(entry.talk_s for entry in self.entries)
