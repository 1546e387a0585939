"""What each agent fact writes in SQL: sessions, pauses and rings (the agent report's rows).

Agent facts come on the fact stream in the tracker's order, so a session's pauses come
after its login. A fact told twice is caught by its key (`recorded_facts`); the writes
below are also safe to repeat (a session or pause already open is left as it is).

A session whose `QueueMemberRemoved` was never seen (the tracker down, Asterisk
restarted) is ended by the next evidence: a later login of the same member ends it at
that login (`replaced`), a resync that no longer lists it ends it at the resync
(`resync`: an upper bound). A pause likewise: an unpause unseen is ended at the resync
that shows the member unpaused (an upper bound), or by the session's end.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.facts import (
    AgentLoggedIn,
    AgentLoggedOut,
    AgentPaused,
    AgentRingNoAnswer,
    AgentsPresent,
    CallRinging,
    MemberSeen,
)
from crm.models import AgentPause, AgentRing, AgentSession


async def _open_sessions(session: AsyncSession, agent: str | None = None) -> list[AgentSession]:
    query = select(AgentSession).where(AgentSession.logout_at.is_(None))
    if agent is not None:
        query = query.where(AgentSession.agent == agent)
    return list(await session.scalars(query.order_by(AgentSession.login_at)))


async def _open_pauses(session: AsyncSession, agent: str, queue: str) -> list[AgentPause]:
    query = select(AgentPause).where(
        AgentPause.agent == agent, AgentPause.queue == queue, AgentPause.unpaused_at.is_(None)
    )
    return list(await session.scalars(query.order_by(AgentPause.paused_at)))


async def _end_pauses(
    session: AsyncSession, agent: str, queue: str, at: datetime, ended_by: str
) -> None:
    for pause in await _open_pauses(session, agent, queue):
        pause.unpaused_at, pause.ended_by = max(at, pause.paused_at), ended_by


def _end_session(row: AgentSession, at: datetime, ended_by: str) -> None:
    row.logout_at, row.ended_by = max(at, row.login_at), ended_by


async def _log_in(session: AsyncSession, agent: str, queue: str, login_at: datetime) -> None:
    """The session of `login_at` is open (made if new); older open ones ended unseen."""
    found = False
    for row in await _open_sessions(session, agent):
        if row.queue != queue:
            continue
        if row.login_at == login_at:
            found = True
        elif row.login_at < login_at:
            _end_session(row, login_at, "replaced")
            await _end_pauses(session, agent, queue, login_at, "replaced")
    if found:
        return
    known = await session.scalar(
        select(AgentSession.id).where(
            AgentSession.agent == agent,
            AgentSession.queue == queue,
            AgentSession.login_at == login_at,
        )
    )
    if known is None:  # (an ended one is not opened again)
        session.add(AgentSession(agent=agent, queue=queue, login_at=login_at))


async def _pause(session: AsyncSession, agent: str, queue: str, reason: str, at: datetime) -> None:
    for pause in await _open_pauses(session, agent, queue):
        if pause.reason == reason:
            return  # told again
        # A new reason without an unpause between (QueuePause with another reason).
        pause.unpaused_at, pause.ended_by = max(at, pause.paused_at), "reason_changed"
    session.add(AgentPause(agent=agent, queue=queue, reason=reason, paused_at=at))


async def on_logged_in(session: AsyncSession, fact: AgentLoggedIn) -> None:
    await _log_in(session, fact.agent, fact.queue, fact.login_at)


async def on_logged_out(session: AsyncSession, fact: AgentLoggedOut) -> None:
    for row in await _open_sessions(session, fact.agent):
        if row.queue == fact.queue and (fact.login_at is None or row.login_at <= fact.login_at):
            _end_session(row, fact.at, "removed")
    await _end_pauses(session, fact.agent, fact.queue, fact.at, "logged_out")


async def on_paused(session: AsyncSession, fact: AgentPaused) -> None:
    if fact.paused:
        await _pause(session, fact.agent, fact.queue, fact.reason, fact.at)
    else:
        await _end_pauses(session, fact.agent, fact.queue, fact.at, "unpaused")


async def on_ring_no_answer(session: AsyncSession, fact: AgentRingNoAnswer) -> None:
    session.add(
        AgentRing(
            agent=fact.agent,
            queue=fact.queue,
            linkedid=fact.linkedid,
            kind="no_answer",
            at=fact.at,
        )
    )


async def on_ringing(session: AsyncSession, fact: CallRinging) -> None:
    session.add(
        AgentRing(
            agent=fact.agent, queue=fact.queue, linkedid=fact.linkedid, kind="rang", at=fact.at
        )
    )


async def _member_seen(session: AsyncSession, member: MemberSeen, at: datetime) -> None:
    await _log_in(session, member.agent, member.queue, member.login_at)
    pauses = await _open_pauses(session, member.agent, member.queue)
    if member.paused:
        began = max(member.paused_at or at, member.login_at)
        if any(pause.reason == member.reason for pause in pauses):
            return
        for pause in pauses:  # paused again, with another reason, while we were away
            pause.unpaused_at, pause.ended_by = max(began, pause.paused_at), "resync"
        session.add(
            AgentPause(
                agent=member.agent, queue=member.queue, reason=member.reason, paused_at=began
            )
        )
    else:
        for pause in pauses:  # unpaused while we were away: at the latest now
            pause.unpaused_at, pause.ended_by = max(at, pause.paused_at), "resync"


async def on_present(session: AsyncSession, fact: AgentsPresent) -> None:
    """A resync's list of members: each one's session and pause as Asterisk has them; a
    session open here but not there ended, at the latest now."""
    listed = {(member.agent, member.queue, member.login_at) for member in fact.members}
    for member in fact.members:
        await _member_seen(session, member, fact.at)
    for row in await _open_sessions(session):
        if (row.agent, row.queue, row.login_at) not in listed and row.login_at <= fact.at:
            _end_session(row, fact.at, "resync")
            await _end_pauses(session, row.agent, row.queue, fact.at, "resync")


AGENT_HANDLERS = {
    AgentLoggedIn: on_logged_in,
    AgentLoggedOut: on_logged_out,
    AgentPaused: on_paused,
    AgentRingNoAnswer: on_ring_no_answer,
    AgentsPresent: on_present,
}


async def write_agent_fact(session: AsyncSession, fact: object) -> None:
    """Write one new agent fact, in the caller's transaction."""
    await AGENT_HANDLERS[type(fact)](session, fact)  # type: ignore[arg-type]
