"""The agent report from a scripted simulator run: the simulated Asterisk's AMI, the
tracker's agent and call facts on the stream, the recorder, the API; the figures worked
out by hand from the script (the queue: timeout 15 s, retry 1 s, no wrap-up)."""

from __future__ import annotations

import asyncio
import math
from datetime import UTC, datetime

import httpx
import pytest
from asgi_lifespan import LifespanManager

from asterisksim.config import AgentProfile
from core.bus import FactBus
from core.settings import StaffingSettings
from crm.db import make_engine, make_sessionmaker
from crm.recorder import Recorder
from crm.service import TicketService
from hotline.bootstrap import create_app
from tests.conftest import TEST_KEYS, auth
from tests.live.conftest import pbx, redis, running_tracker  # noqa: F401 (fixtures)

pytestmark = pytest.mark.redis


async def test_a_scripted_simulator_run(settings, pbx, redis) -> None:  # noqa: F811
    await pbx.run_until(math.ceil(pbx.now()) + 1)
    async with running_tracker(pbx, redis) as service:
        await pbx.run_until(math.ceil(pbx.now()))
        t0 = pbx.now()
        assert t0 == int(t0)
        # agent1 lets its phone ring longer than the queue's 15 s: every ring runs out.
        pbx.add_agent("agent1", "hotline", answer_delay_s=20, talk_s=60)
        await pbx.run_for(10)
        # +10: Alice waits 40 s: rings at +10, +26 (15 s each, 1 s retry) run out; the
        # third, at +42, ends when she hangs up at +50 (no AgentRingNoAnswer).
        pbx.place_call("79000000001", "Alice", use_agi=False, patience_s=40)
        await pbx.run_for(90)
        # +100 to +700: lunch.
        pbx.pause_agent("agent1", True, "lunch")
        await pbx.run_for(600)
        pbx.pause_agent("agent1", False)
        pbx.pbx.agents["agent1"] = AgentProfile(answer_delay_s=2, talk_s=60)
        await pbx.run_for(100)
        # +800: Bob is answered at +802 and talks 60 s.
        pbx.place_call("79000000002", "Bob", use_agi=False, patience_s=600)
        await pbx.run_for(200)
        # +1000: agent1 logs out.
        await asyncio.wait_for(
            service.manager.send_action(
                {
                    "Action": "QueueRemove",
                    "Queue": "hotline",
                    "Interface": "Local/agent1@agents/n",
                }
            ),
            5,
        )
        await pbx.run_for(5)
        await service.outbox.drained(5)
    facts = await FactBus(redis, TEST_KEYS).read_all(count=10_000)
    truth = {c.caller_name: c for c in pbx.ground_truth}
    assert truth["Alice"].outcome == "abandoned"
    assert truth["Bob"].visits[0].answered_at == pytest.approx(t0 + 802, abs=0.05)

    engine = make_engine(settings.db.url)
    sessions = make_sessionmaker(engine)
    recorder = Recorder(None, TEST_KEYS, sessions, TicketService(sessions))  # type: ignore[arg-type]
    try:
        await recorder.apply_many(facts)
    finally:
        await engine.dispose()
    settings = settings.model_copy(update={"staffing": StaffingSettings(wrapup_s=0)})
    app = create_app(settings)
    start = datetime.fromtimestamp(t0 - 3600, UTC).isoformat()
    end = datetime.fromtimestamp(t0 + 3600, UTC).isoformat()
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://crm") as http:
            reply = await http.get(
                "/api/reports/agents",
                params={"from": start, "to": end, "interval": "quarter"},
                headers=auth("supervisor"),
            )
    assert reply.status_code == 200, reply.text
    [agent] = reply.json()["agents"]
    total = agent["total"]
    assert agent["agent"] == "agent1"
    assert total["logged_in_s"] == pytest.approx(1000.0, abs=0.01)
    assert total["sessions"] == 1
    assert total["paused_s"] == pytest.approx(600.0, abs=0.01)
    assert total["paused_by_reason"] == {"lunch": pytest.approx(600.0, abs=0.01)}
    assert (total["offered"], total["missed"], total["answered"]) == (4, 2, 1)
    assert total["talk_s"] == pytest.approx(60.0, abs=0.01)
    assert total["wrapup_s"] == 0.0
    assert total["occupancy"] == 15.0  # 60 / (1000 - 600)
