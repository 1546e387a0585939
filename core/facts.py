"""The call-fact vocabulary: what every component says about a call, keyed by Linkedid.

Facts are past-tense events. Each has a stable `key`, so a fact delivered twice can be
recognised and changes nothing. `at` is the moment Asterisk reported (its `Timestamp:`
header) as an aware UTC datetime.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from core.context.model import CallContext


class _Fact(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    linkedid: str = Field(min_length=1, max_length=64)

    @property
    def key(self) -> str:
        """Stable identity of this fact: the same happening always gives the same key."""
        return f"{self.linkedid}:{self.kind}"  # type: ignore[attr-defined]


class CallStarted(_Fact):
    """The call began (`at`: its first channel). Told again whenever Asterisk brings the
    caller's number or name later (`NewCallerid` after a `Newchannel` that said
    `<unknown>`): each telling is keyed by the caller ID it carries, so a re-told one is
    new to every reader and the same one twice is not; readers keep the later known value
    (`core.caller_id`)."""

    kind: Literal["started"] = "started"
    channel: str
    caller_num: str = ""
    caller_name: str = ""
    dialled: str = ""
    at: datetime

    @property
    def key(self) -> str:
        if not (self.caller_num or self.caller_name):
            return f"{self.linkedid}:started"
        # A digest keeps the key short whatever the name's length (keys are 200 chars).
        caller_id = f"{self.caller_num}\x1f{self.caller_name}".encode()
        return f"{self.linkedid}:started:{hashlib.blake2b(caller_id, digest_size=6).hexdigest()}"


class CallTicketed(_Fact):
    kind: Literal["ticketed"] = "ticketed"
    uin: str
    ticket_id: int | None = None
    attached: bool = False  # True when the caller named an existing ticket
    # The caller ID of the AGI environment (`agi_callerid`, `agi_calleridname`), when the
    # AGI route tells it: one more source, read as `started`'s are (`core.caller_id`).
    caller_num: str = ""
    caller_name: str = ""
    # The AGI channel's `agi_uniqueid`: the channel that then runs Queue(), whose Uniqueid
    # is app_queue's call id in queue_log (a call the tracker missed is found there).
    uniqueid: str = ""

    @property
    def key(self) -> str:
        # A call may be told two UINs: the IVR's new one, then the request the caller named
        # (`attached`); each is a fact of its own, and the named one told by the AGI route
        # is not the same fact as that UIN read from the channel's variables.
        return f"{self.linkedid}:ticketed:{self.uin}" + (":attached" if self.attached else "")


class CallQueued(_Fact):
    kind: Literal["queued"] = "queued"
    queue: str
    position: int
    entry: int = 1  # the n-th queue entry of this call (re-entry after a transfer)
    at: datetime
    # The queue-side channel's Uniqueid, app_queue's call id in queue_log: a restarted
    # tracker knows from it which calls queue_log tells that its predecessor had told.
    uniqueid: str = ""

    @property
    def key(self) -> str:
        return f"{self.linkedid}:queued:{self.entry}"


class CallRinging(_Fact):
    kind: Literal["ringing"] = "ringing"
    queue: str
    agent: str
    entry: int = 1
    at: datetime

    @property
    def key(self) -> str:
        return f"{self.linkedid}:ringing:{self.entry}:{self.agent}:{self.at.timestamp()}"


class CallAnswered(_Fact):
    kind: Literal["answered"] = "answered"
    queue: str
    agent: str
    wait_s: float
    # app_queue's whole-second wait (`HoldTime`), which its `ServicelevelPerf` counts on;
    # None from a tracker that did not tell it (the float wait truncated stands in).
    wait_whole_s: int | None = None
    entry: int = 1
    at: datetime

    @property
    def key(self) -> str:
        return f"{self.linkedid}:answered:{self.entry}"


class CallCompleted(_Fact):
    """An answered queue entry's talk ended (Asterisk's `AgentComplete`): the agent hung
    up, the caller did, or a transfer took the caller on. After an AMI `Redirect` out of
    the queue's bridge Asterisk tells it only when the caller's call ends (`Reason:
    caller`), so an entry is completed when Asterisk says, as `QueueParams` counts it."""

    kind: Literal["completed"] = "completed"
    queue: str
    agent: str
    talk_s: float = 0.0
    reason: str = ""
    entry: int = 1
    at: datetime

    @property
    def key(self) -> str:
        return f"{self.linkedid}:completed:{self.entry}"


class CallAbandoned(_Fact):
    kind: Literal["abandoned"] = "abandoned"
    queue: str
    wait_s: float
    wait_whole_s: int | None = None  # app_queue's `HoldTime`, as on `answered`
    position: int
    original_position: int
    entry: int = 1
    at: datetime

    @property
    def key(self) -> str:
        return f"{self.linkedid}:abandoned:{self.entry}"


class CallTransferred(_Fact):
    kind: Literal["transferred"] = "transferred"
    n: int = Field(ge=1)
    how: Literal["blind", "attended", "redirect", "api"]
    from_agent: str = ""
    to: str
    # The call's context as of the transfer; a fact written when this held only the memo
    # and the UIN still loads (every other field has a default).
    context: CallContext | None = None
    # The dialplan context Asterisk sent the caller to (a BlindTransfer's `Context`).
    dialplan_context: str = ""
    at: datetime

    @property
    def key(self) -> str:
        return f"{self.linkedid}:transferred:{self.n}"


class CallEnded(_Fact):
    kind: Literal["ended"] = "ended"
    talk_s: float = 0.0
    hung_up_by: Literal["caller", "agent", "transfer", "system", "unknown"] = "unknown"
    at: datetime


class CallOutOfHours(_Fact):
    """The hotline was closed: the caller heard the hours and the call ends without a ticket."""

    kind: Literal["out_of_hours"] = "out_of_hours"
    caller_num: str = ""
    caller_name: str = ""
    at: datetime


class CallRated(_Fact):
    kind: Literal["rated"] = "rated"
    solved: bool | None = None
    score: int | None = Field(default=None, ge=1, le=5)


class _AgentFact(BaseModel):
    """A fact about an agent (a queue member), not about a call: `agent` is app_queue's
    `MemberName`, `queue` the queue it is a member of."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    agent: str = Field(min_length=1, max_length=80)
    queue: str = Field(min_length=1, max_length=80)
    at: datetime


class AgentLoggedIn(_AgentFact):
    """The member was added to the queue (`QueueMemberAdded`), or a resync found it there.
    `login_at` is app_queue's `LoginTime` (whole seconds): the session's identity, so the
    same session told again after a tracker restart is the same fact."""

    kind: Literal["agent_logged_in"] = "agent_logged_in"
    login_at: datetime

    @property
    def key(self) -> str:
        return f"agent:{self.agent}:{self.queue}:in:{int(self.login_at.timestamp())}"


class AgentLoggedOut(_AgentFact):
    """The member left the queue (`QueueMemberRemoved`): the session of `login_at` ends."""

    kind: Literal["agent_logged_out"] = "agent_logged_out"
    login_at: datetime | None = None

    @property
    def key(self) -> str:
        return f"agent:{self.agent}:{self.queue}:out:{self.at.timestamp()}"


class AgentPaused(_AgentFact):
    """The member was paused (`paused`, with app_queue's `PausedReason`) or unpaused
    (`QueueMemberPause`)."""

    kind: Literal["agent_paused"] = "agent_paused"
    paused: bool
    reason: str = Field(default="", max_length=80)

    @property
    def key(self) -> str:
        return f"agent:{self.agent}:{self.queue}:pause:{int(self.paused)}:{self.at.timestamp()}"


class AgentRingNoAnswer(_AgentFact):
    """The member was rung for `linkedid`'s caller and did not answer (`AgentRingNoAnswer`;
    a ring the caller's hang-up or another member's answer ended is no such fact)."""

    kind: Literal["agent_ring_no_answer"] = "agent_ring_no_answer"
    linkedid: str = Field(min_length=1, max_length=64)

    @property
    def key(self) -> str:
        return f"agent:{self.agent}:rna:{self.linkedid}:{self.at.timestamp()}"


class MemberSeen(BaseModel):
    """One queue member as a resync's `QueueStatus` shows it."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    agent: str
    queue: str
    login_at: datetime
    paused: bool = False
    reason: str = ""
    paused_at: datetime | None = None  # app_queue's `LastPause`: when the pause began


class AgentsPresent(BaseModel):
    """Every queue member Asterisk has at a resync (`QueueStatus`'s `QueueMember` list):
    what the events of an outage (or of a tracker that was down) would have said. A
    session recorded open but missing here ended unseen, at the latest at `at`."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    kind: Literal["agents_present"] = "agents_present"
    members: list[MemberSeen] = Field(default_factory=list)
    at: datetime

    @property
    def key(self) -> str:
        return f"agents:present:{self.at.timestamp()}"


AgentFact = AgentLoggedIn | AgentLoggedOut | AgentPaused | AgentRingNoAnswer | AgentsPresent
AGENT_FACTS: tuple[type, ...] = (
    AgentLoggedIn,
    AgentLoggedOut,
    AgentPaused,
    AgentRingNoAnswer,
    AgentsPresent,
)


# The stream's vocabulary: call facts and agent facts (`AGENT_FACTS`, which carry no call).
CallFact = Annotated[
    CallStarted
    | CallTicketed
    | CallQueued
    | CallRinging
    | CallAnswered
    | CallCompleted
    | CallAbandoned
    | CallTransferred
    | CallEnded
    | CallOutOfHours
    | CallRated
    | AgentLoggedIn
    | AgentLoggedOut
    | AgentPaused
    | AgentRingNoAnswer
    | AgentsPresent,
    Field(discriminator="kind"),
]

_adapter: TypeAdapter[CallFact] = TypeAdapter(CallFact)


def dump_fact(fact: CallFact) -> str:
    """The wire form of a fact (JSON), as it goes onto the stream."""
    return fact.model_dump_json()


def load_fact(data: str | bytes) -> CallFact:
    """Parse a fact from its wire form; raises `pydantic.ValidationError` on bad input."""
    return _adapter.validate_json(data)
