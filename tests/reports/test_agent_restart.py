"""Agent sessions across tracker restarts, through the simulated Asterisk: a session open
when the tracker starts again is told again (the same `LoginTime`, the same session), a
pause taken while it was down is found, and a logout it missed ends the session at the
next resync (an upper bound)."""

from __future__ import annotations

import math

import pytest
from sqlalchemy import select

from core.bus import FactBus
from crm.db import make_engine, make_sessionmaker
from crm.models import AgentPause, AgentSession
from crm.recorder import Recorder
from crm.service import TicketService
from tests.conftest import TEST_KEYS
from tests.live.conftest import pbx, redis, running_tracker  # noqa: F401 (fixtures)

pytestmark = pytest.mark.redis


async def test_sessions_survive_tracker_restarts(settings, pbx, redis) -> None:  # noqa: F811
    await pbx.run_until(math.ceil(pbx.now()) + 1)
    async with running_tracker(pbx, redis) as service:
        login = int(pbx.now())
        pbx.add_agent("agent1", "hotline")
        await pbx.run_for(60)
        await service.outbox.drained(5)
    # The tracker is down: agent1 goes to lunch.
    await pbx.run_for(60)
    paused_at = int(pbx.now())
    pbx.pause_agent("agent1", True, "lunch")
    await pbx.run_for(60)
    async with running_tracker(pbx, redis) as service:  # a new tracker, nothing in memory
        await pbx.run_for(60)
        await service.outbox.drained(5)
    # Down again: agent1 logs out.
    interface = "Local/agent1@agents/n"
    member = pbx.pbx.queues["hotline"].members.pop(interface)
    assert member.name == "agent1"
    await pbx.run_for(60)
    async with running_tracker(pbx, redis) as service:
        resync_at = pbx.now()
        await pbx.run_for(5)
        await service.outbox.drained(5)

    facts = await FactBus(redis, TEST_KEYS).read_all(count=10_000)
    kinds = [f.kind for f in facts]
    assert kinds.count("agent_logged_in") == 1 and kinds.count("agents_present") == 3
    engine = make_engine(settings.db.url)
    sessions = make_sessionmaker(engine)
    recorder = Recorder(None, TEST_KEYS, sessions, TicketService(sessions))  # type: ignore[arg-type]
    try:
        await recorder.apply_many(facts)
        async with sessions() as session:
            [row] = (await session.scalars(select(AgentSession))).all()
            [pause] = (await session.scalars(select(AgentPause))).all()
    finally:
        await engine.dispose()
    assert int(row.login_at.timestamp()) == login
    assert row.ended_by == "resync"
    assert row.logout_at.timestamp() == pytest.approx(resync_at, abs=1.0)
    assert pause.reason == "lunch" and int(pause.paused_at.timestamp()) == paused_at
    assert pause.ended_by == "resync"
