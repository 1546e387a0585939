"""The agent's queue membership and pause: `QueueAdd`, `QueueRemove`, `QueuePause` over AMI.

The same actions as the agent's phone codes (`*71`, `*72`, `*73N`), for the desk. The member
name is the agent's name (what the tracker and the screen pops key on); the interface is
the one Asterisk already has for that member, else the agent's dial string
(`HOTLINE_AGENT_CHANNEL`). Every value goes to Asterisk on one line (the AMI client turns
CR/LF into spaces; the schemas refuse them first).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError

from core.agent_pause import PAUSE_REASONS
from core.ami import actions as ami
from core.ami.manager import AmiError
from core.context.notifier import AgentNotifier
from core.keys import RedisKeys
from core.settings import AsteriskSettings
from crm.agents.errors import (
    AlreadyInQueue,
    AsteriskFailed,
    NoSuchQueue,
    NotInQueue,
    StaticMember,
)
from crm.agents.schemas import AgentQueueState, MemberPublic

DEFAULT_QUEUES = ("hotline",)


def _moment(value: Any) -> datetime | None:
    """An epoch-seconds header (`LastPause`, `LoginTime`); 0 means never."""
    try:
        seconds = int(str(value or "0"))
    except ValueError:
        return None
    return datetime.fromtimestamp(seconds, UTC) if seconds > 0 else None


def _member(message: Mapping[str, Any]) -> MemberPublic:
    paused = str(message.get("Paused", "0")) == "1"
    return MemberPublic(
        queue=str(message.get("Queue", "")),
        interface=str(message.get("Location") or message.get("Interface") or ""),
        paused=paused,
        reason=str(message.get("PausedReason", "") or "") if paused else "",
        paused_since=_moment(message.get("LastPause")) if paused else None,
        logged_in_since=_moment(message.get("LoginTime")),
        calls_taken=int(str(message.get("CallsTaken", "0") or "0")),
        in_call=str(message.get("InCall", "0")) == "1",
    )


class AgentQueues:
    """Log an agent in to and out of queues, pause and unpause it, read its membership."""

    def __init__(
        self,
        send_action: ami.SendAction | None,
        asterisk: AsteriskSettings,
        default_queues: tuple[str, ...] = DEFAULT_QUEUES,
        redis: Redis | None = None,
        keys: RedisKeys | None = None,
    ) -> None:
        self._send = send_action
        self._notifier = (
            AgentNotifier(redis, keys) if redis is not None and keys is not None else None
        )
        self._asterisk = asterisk
        self.default_queues = default_queues

    def _sender(self) -> ami.SendAction:
        if self._send is None:
            raise AsteriskFailed("the CRM has no AMI client (set HOTLINE_AMI_SECRET)")
        return self._send

    async def _ask(self, action: Any, *args: Any) -> Any:
        """Run one AMI helper; Asterisk unreachable or silent is `AsteriskFailed`."""
        try:
            return await action(self._sender(), *args)
        except (AmiError, TimeoutError) as exc:
            raise AsteriskFailed(f"Asterisk did not answer: {exc}") from exc

    async def state(self, agent: str) -> AgentQueueState:
        """What Asterisk says of the agent's queues now (`QueueStatus`)."""
        members = [_member(m) for m in await self._ask(ami.queue_members, agent)]
        paused = bool(members) and all(m.paused for m in members)
        return AgentQueueState(
            agent=agent,
            logged_in=bool(members),
            paused=paused,
            reason=members[0].reason if paused else "",
            members=members,
            pause_reasons=list(PAUSE_REASONS.values()),
            last_pop=await self._last_pop(agent),
        )

    async def _last_pop(self, agent: str) -> dict[str, Any] | None:
        """The agent's last screen pop (None if none, or Redis is unreachable: the
        membership answer does not depend on it)."""
        if self._notifier is None:
            return None
        try:
            return await self._notifier.last_pop(agent)
        except (RedisError, OSError):
            return None

    async def join(self, agent: str, queues: list[str] | None) -> AgentQueueState:
        current = {m.queue: m for m in (await self.state(agent)).members}
        interface = self._asterisk.agent_dial(agent)
        for queue in queues or self.default_queues:
            if queue in current:
                raise AlreadyInQueue(agent, queue)
            refusal = await self._ask(ami.queue_add, queue, interface, agent)
            if refusal is None:
                continue
            if "no such queue" in refusal.lower():
                raise NoSuchQueue(queue)
            if "already there" in refusal.lower():
                raise AlreadyInQueue(agent, queue)
            raise AsteriskFailed(f"Asterisk refused QueueAdd to {queue}: {refusal}")
        return await self.state(agent)

    async def leave(self, agent: str, queues: list[str] | None) -> AgentQueueState:
        """Leave `queues` (default: every queue the agent is in)."""
        current = {m.queue: m for m in (await self.state(agent)).members}
        wanted = queues or list(current)
        if not wanted:
            raise NotInQueue(agent)
        for queue in wanted:
            member = current.get(queue)
            if member is None:
                raise NotInQueue(agent, queue)
            refusal = await self._ask(ami.queue_remove, queue, member.interface)
            if refusal is None:
                continue
            lowered = refusal.lower()
            if "not dynamic" in lowered:
                raise StaticMember(agent, queue)
            if "no such queue" in lowered:
                raise NoSuchQueue(queue)
            if "not there" in lowered:
                raise NotInQueue(agent, queue)
            raise AsteriskFailed(f"Asterisk refused QueueRemove from {queue}: {refusal}")
        return await self.state(agent)

    async def pause(self, agent: str, paused: bool, reason: str = "") -> AgentQueueState:
        """Pause (with `reason`) or unpause the agent in every queue it is in."""
        members = (await self.state(agent)).members
        if not members:
            raise NotInQueue(agent)
        for interface in dict.fromkeys(m.interface for m in members):
            refusal = await self._ask(ami.queue_pause, interface, paused, reason)
            if refusal is None:
                continue
            if "not found" in refusal.lower():
                raise NotInQueue(agent)
            raise AsteriskFailed(f"Asterisk refused QueuePause: {refusal}")
        return await self.state(agent)
