"""Agent facts from queue member events: logged in and out, paused, rung without answer.

app_queue's member snapshot (`QueueMemberAdded`, `QueueMemberRemoved`, `QueueMemberPause`
and the `QueueMember` list of `QueueStatus`) carries `LoginTime`, the session's start in
whole seconds: it names the session, so the same one told again after a tracker restart
is the same fact. A resync tells every member Asterisk has (`AgentsPresent`), so the
recorder can close a session whose `QueueMemberRemoved` was missed.

>>> from core.ami.parser import AmiParser
>>> [m] = AmiParser().feed(b"Event: QueueMemberPause\\nQueue: hotline\\nMemberName: agent2\\n"
...     b"LoginTime: 1795312103\\nPaused: 1\\nPausedReason: lunch\\n\\n")
>>> fact = paused(m, 1795312144.7)
>>> fact.kind, fact.paused, fact.reason
('agent_paused', True, 'lunch')
"""

from __future__ import annotations

from datetime import datetime

from callqueue.event_values import as_int, utc
from core.ami.parser import AmiMessage
from core.facts import (
    AgentLoggedIn,
    AgentLoggedOut,
    AgentPaused,
    AgentRingNoAnswer,
    MemberSeen,
)

REASON_MAX = 80


def _member(message: AmiMessage) -> tuple[str, str]:
    # The QueueMember list says Name where the events say MemberName.
    name = message.get("MemberName") or message.get("Name") or message.get("Interface")
    return name, message.get("Queue")


def _stamp(message: AmiMessage, header: str) -> datetime | None:
    """A whole-second epoch header (`LoginTime`, `LastPause`); None when 0 or absent."""
    value = as_int(message.get(header))
    return utc(value) if value else None


def logged_in(message: AmiMessage, at: float) -> list[AgentLoggedIn | AgentPaused]:
    """`QueueMemberAdded`: the session begins (paused already, if added paused)."""
    agent, queue = _member(message)
    if not (agent and queue):
        return []
    login_at = _stamp(message, "LoginTime") or utc(at)
    facts: list[AgentLoggedIn | AgentPaused] = [
        AgentLoggedIn(agent=agent, queue=queue, at=utc(at), login_at=login_at)
    ]
    if message.get("Paused") == "1":
        facts.append(
            AgentPaused(
                agent=agent,
                queue=queue,
                at=login_at,
                paused=True,
                reason=message.get("PausedReason")[:REASON_MAX],
            )
        )
    return facts


def logged_out(message: AmiMessage, at: float) -> list[AgentLoggedOut]:
    agent, queue = _member(message)
    if not (agent and queue):
        return []
    return [
        AgentLoggedOut(agent=agent, queue=queue, at=utc(at), login_at=_stamp(message, "LoginTime"))
    ]


def paused(message: AmiMessage, at: float) -> AgentPaused | None:
    agent, queue = _member(message)
    if not (agent and queue):
        return None
    is_paused = message.get("Paused") == "1"
    reason = (message.get("PausedReason") or message.get("Reason")) if is_paused else ""
    return AgentPaused(
        agent=agent, queue=queue, at=utc(at), paused=is_paused, reason=reason[:REASON_MAX]
    )


def ring_no_answer(message: AmiMessage, at: float) -> list[AgentRingNoAnswer]:
    agent, queue = _member(message)
    linkedid = message.get("Linkedid") or message.get("DestLinkedid")
    if not (agent and queue and linkedid):
        return []
    return [AgentRingNoAnswer(agent=agent, queue=queue, at=utc(at), linkedid=linkedid)]


def member_seen(message: AmiMessage, at: float) -> MemberSeen | None:
    """A `QueueMember` list item of a resync's `QueueStatus`."""
    agent, queue = _member(message)
    if not (agent and queue):
        return None
    is_paused = message.get("Paused") == "1"
    return MemberSeen(
        agent=agent,
        queue=queue,
        login_at=_stamp(message, "LoginTime") or utc(at),
        paused=is_paused,
        reason=message.get("PausedReason")[:REASON_MAX] if is_paused else "",
        paused_at=_stamp(message, "LastPause") if is_paused else None,
    )
