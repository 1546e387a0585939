"""Live agent state (available, ringing, talking, wrap-up, paused) from queue member events.

The state is plain in-memory objects; every change goes to an `AgentStateSink`, so a
Redis writer can be plugged in without touching the event logic.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, tzinfo
from typing import Literal

from core.ami.channels import made_on
from core.ami.parser import AmiMessage

AgentStatus = Literal["available", "ringing", "talking", "wrapup", "paused", "unavailable"]

# Asterisk device states as QueueMemberStatus reports them (AST_DEVICE_*).
_DEVICE_BUSY = {"2", "3", "7", "8"}  # in use, busy, ring in use, on hold
_DEVICE_GONE = {"4", "5"}  # invalid, unavailable
_DEVICE_RINGING = "6"


@dataclass
class AgentState:
    """One agent (queue member) as the supervisor sees it."""

    name: str
    interface: str = ""
    queues: set[str] = field(default_factory=set)
    status: AgentStatus = "available"
    paused: bool = False
    paused_reason: str = ""
    paused_since: float = 0.0  # when the pause began (0: not paused)
    calls_taken: int = 0  # Asterisk's CallsTaken: since the member was added or reset
    calls_today: int = 0  # calls completed on `day` (the board's time zone)
    day: str = ""
    linkedid: str = ""  # the call it rings for or talks to
    since: float = 0.0  # when `status` began (epoch seconds)

    def snapshot(self) -> AgentState:
        return replace(self, queues=set(self.queues))


class AgentStateSink(ABC):
    """Where agent state changes go (Redis hashes in production, a list in tests)."""

    @abstractmethod
    def agent_changed(self, agent: AgentState) -> None: ...

    def agent_removed(self, name: str) -> None:  # noqa: B027 - optional hook
        """The agent left its last queue."""


class NullAgentSink(AgentStateSink):
    def agent_changed(self, agent: AgentState) -> None:
        return None


class AgentBoard:
    """Keeps `AgentState` per member name, fed by the tracker's queue events."""

    def __init__(
        self,
        sink: AgentStateSink | None = None,
        wrapup_s: float = 0.0,
        tz: tzinfo = UTC,
    ) -> None:
        self.agents: dict[str, AgentState] = {}
        self._sink = sink or NullAgentSink()
        self.wrapup_s = wrapup_s
        self._tz = tz

    def _agent(self, message: AmiMessage) -> AgentState | None:
        name = message.get("MemberName") or message.get("Interface")
        if not name:
            return None
        agent = self.agents.get(name)
        if agent is None:
            agent = self.agents[name] = AgentState(name=name)
        interface = message.get("Interface")
        if interface:
            agent.interface = interface
        queue = message.get("Queue")
        if queue:
            agent.queues.add(queue)
        return agent

    def _set(
        self, agent: AgentState, status: AgentStatus, at: float, linkedid: str | None = None
    ) -> None:
        if agent.paused and status == "available":
            status = "paused"
        if linkedid is not None:
            agent.linkedid = linkedid
        if status != agent.status:
            agent.status = status
            agent.since = at
        self._sink.agent_changed(agent)

    @staticmethod
    def _pause(agent: AgentState, paused: bool, at: float, last_pause: str = "") -> None:
        """Set the paused flag; a pause that begins now starts its clock. A member first
        seen paused (a resync's list) takes Asterisk's `LastPause` (epoch seconds)."""
        if paused and not agent.paused:
            agent.paused_since = at
            # LastPause is whole seconds: only a pause begun well before this event uses it
            if last_pause.isdigit() and 0 < int(last_pause) < at - 1:
                agent.paused_since = float(last_pause)
        elif not paused:
            agent.paused_since = 0.0
        agent.paused = paused

    def _apply_member(self, message: AmiMessage, at: float) -> None:
        """QueueMemberStatus / QueueMemberAdded / QueueMember (list) all carry the same
        member snapshot: paused flag and reason, device status, calls taken."""
        agent = self._agent(message)
        if agent is None:
            return
        self._pause(agent, message.get("Paused") == "1", at, message.get("LastPause"))
        agent.paused_reason = message.get("PausedReason") if agent.paused else ""
        taken = message.get("CallsTaken")
        if taken.isdigit():
            agent.calls_taken = int(taken)  # Asterisk's own count wins
        device = message.get("Status")
        if device in _DEVICE_GONE:
            self._set(agent, "unavailable", at, "")
        elif device == _DEVICE_RINGING:
            self._set(agent, "ringing", at)
        elif device in _DEVICE_BUSY:
            # Local-channel members report "in use" while their call rings too.
            if agent.status not in ("ringing", "talking"):
                self._set(agent, "talking", at)
        elif agent.status in ("talking", "ringing", "wrapup") and agent.linkedid:
            # Device free again, but the queue events decide when a call is over.
            self._sink.agent_changed(agent)
        else:
            self._set(agent, "paused" if agent.paused else "available", at, "")

    def on_member_status(self, message: AmiMessage, at: float) -> None:
        self._apply_member(message, at)

    def on_member_pause(self, message: AmiMessage, at: float) -> None:
        agent = self._agent(message)
        if agent is None:
            return
        self._pause(agent, message.get("Paused") == "1", at)
        agent.paused_reason = message.get("PausedReason") or message.get("Reason")
        if not agent.paused:
            agent.paused_reason = ""
        if agent.paused and agent.status in ("available", "wrapup"):
            self._set(agent, "paused", at)
        elif not agent.paused and agent.status == "paused":
            self._set(agent, "available", at)
        else:
            self._sink.agent_changed(agent)

    def on_member_removed(self, message: AmiMessage, at: float) -> None:
        name = message.get("MemberName") or message.get("Interface")
        agent = self.agents.get(name)
        if agent is None:
            return
        agent.queues.discard(message.get("Queue"))
        if not agent.queues:
            del self.agents[name]
            self._sink.agent_removed(name)
        else:
            self._sink.agent_changed(agent)

    def ringing(self, message: AmiMessage, at: float, linkedid: str) -> None:
        agent = self._agent(message)
        if agent is not None:
            self._set(agent, "ringing", at, linkedid)

    def ring_ended(self, name: str, at: float) -> None:
        """The ring stopped unanswered (AgentRingNoAnswer, or DialEnd CANCEL/NOANSWER)."""
        agent = self.agents.get(name)
        if agent is not None and agent.status == "ringing":
            self._set(agent, "available", at, "")

    def connected(self, message: AmiMessage, at: float, linkedid: str) -> None:
        agent = self._agent(message)
        if agent is not None:
            self._set(agent, "talking", at, linkedid)

    def completed(self, message: AmiMessage, at: float) -> None:
        agent = self._agent(message)
        if agent is None:
            return
        agent.calls_taken += 1
        day = datetime.fromtimestamp(at, self._tz).date().isoformat()
        if day != agent.day:
            agent.day, agent.calls_today = day, 0
        agent.calls_today += 1
        self._set(agent, "wrapup" if self.wrapup_s > 0 else "available", at, "")

    # -- what a resync found (no event showed it) ------------------------------------

    def member_of(self, channel: str) -> str:
        """The member whose interface made `channel` ("" if none)."""
        for agent in self.agents.values():
            if made_on(channel, agent.interface):
                return agent.name
        return ""

    def remove(self, name: str) -> None:
        """The agent is in no queue any more."""
        if self.agents.pop(name, None) is not None:
            self._sink.agent_removed(name)

    def on_call(self, name: str, at: float, linkedid: str) -> None:
        """The agent talks to `linkedid`: answered while the tracker was away."""
        agent = self.agents.get(name)
        if agent is not None:
            self._set(agent, "talking", at, linkedid)

    def free(self, name: str, at: float) -> None:
        """The call the agent rang for or talked to is over: available (or paused)."""
        agent = self.agents.get(name)
        if agent is not None:
            self._set(agent, "paused" if agent.paused else "available", at, "")

    def end_wrapups(self, now: float) -> None:
        """Wrap-up is a queue timer with no event of its own: end it on the clock."""
        for agent in self.agents.values():
            if agent.status == "wrapup" and now - agent.since >= self.wrapup_s:
                self._set(agent, "available", now, "")
