"""The supervisor API: roles, shapes, history from SQL, live state, SSE and /metrics."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta

import pytest
from prometheus_client.parser import text_string_to_metric_families

from asterisksim import SimConfig, SimulatedAsterisk
from callqueue.live import LiveState
from core.facts import CallAbandoned, CallAnswered, CallQueued
from crm.db import make_engine, make_sessionmaker
from crm.recorder import Recorder
from crm.service import TicketService
from tests.conftest import TEST_KEYS, auth
from tests.live.conftest import running_tracker
from tests.live.test_live_state import settle

pytestmark = pytest.mark.redis
ROUTES = ["/api/metrics/service-level", "/api/queues/live", "/api/agents/live", "/metrics"]


@pytest.mark.parametrize("path", ROUTES)
async def test_routes_need_a_supervisor_token(client, path) -> None:
    assert (await client.get(path)).status_code == 401
    assert (await client.get(path, headers={"Authorization": "Bearer nope"})).status_code == 401
    assert (await client.get(path, headers=auth("agent"))).status_code == 403
    assert (await client.get(path, headers=auth("supervisor"))).status_code == 200


async def test_stream_needs_a_supervisor_token(client) -> None:
    assert (await client.get("/api/stream/live")).status_code == 401
    assert (await client.get("/api/stream/live", headers=auth("service"))).status_code == 403


async def record(settings, facts) -> None:
    engine = make_engine(settings.db.url)
    sessions = make_sessionmaker(engine)
    recorder = Recorder(None, TEST_KEYS, sessions, TicketService(sessions))  # type: ignore[arg-type]
    try:
        for fact in facts:
            await recorder.apply(fact)
    finally:
        await engine.dispose()


def entry_facts(linkedid: str, queue: str, joined: datetime, wait_s: float, answered: bool):
    at = joined + timedelta(seconds=wait_s)
    yield CallQueued(linkedid=linkedid, queue=queue, position=1, at=joined)
    if answered:
        yield CallAnswered(linkedid=linkedid, queue=queue, agent="a1", wait_s=wait_s, at=at)
    else:
        yield CallAbandoned(
            linkedid=linkedid, queue=queue, wait_s=wait_s, position=1, original_position=1, at=at
        )


async def test_service_level_history_by_interval(client, settings) -> None:
    base = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # 12:00 in Moscow
    calls = [  # (queue, minutes after base, wait, answered)
        ("hotline", 1, 10.0, True),
        ("hotline", 2, 45.0, True),
        ("hotline", 3, 3.0, False),  # a short abandon: not counted in sl
        ("hotline", 70, 20.0, False),
        ("support", 5, 30.0, True),
    ]
    facts = []
    for n, (queue, minutes, wait_s, answered) in enumerate(calls):
        facts += entry_facts(f"1.{n}", queue, base + timedelta(minutes=minutes), wait_s, answered)
    await record(settings, facts)
    params = {"from": "2026-03-02T12:00:00+03:00", "to": "2026-03-02T14:00:00+03:00"}
    reply = await client.get(
        "/api/metrics/service-level",
        params={**params, "interval": "hour"},
        headers=auth("supervisor"),
    )
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert body["queues"] == ["hotline", "support"]
    assert [s["start"] for s in body["series"]] == [
        "2026-03-02T12:00:00+03:00",
        "2026-03-02T13:00:00+03:00",
    ]
    first = body["series"][0]["queues"]
    assert first["hotline"]["offered"] == 3
    assert first["hotline"]["sl"] == 50.0  # 1 within 40 s of 2 (the 3 s abandon is short)
    assert first["hotline"]["perf"] == 50.0
    assert first["hotline"]["asa_s"] == 27.5
    assert first["hotline"]["answered_within_buckets"]["0-15"] == 1
    assert first["all"]["answered"] == 3
    assert body["series"][1]["queues"]["hotline"]["abandoned"] == 1
    assert body["total"]["all"]["offered"] == 5
    assert body["total"]["hotline"]["abandon_rate"] == 50.0
    assert body["threshold_s"] == 40 and body["short_abandon_s"] == 5

    one_queue = await client.get(
        "/api/metrics/service-level",
        params={**params, "interval": "quarter", "queue": "support"},
        headers=auth("supervisor"),
    )
    assert one_queue.json()["queues"] == ["support"]
    assert one_queue.json()["series"][0]["start"] == "2026-01-01T00:00:00+03:00"
    for bad in ({"interval": "year"}, {"from": params["to"], "to": params["from"]}):
        reply = await client.get(
            "/api/metrics/service-level", params={**params, **bad}, headers=auth("supervisor")
        )
        assert reply.status_code == 422


async def test_history_decides_within_on_asterisks_whole_seconds(client, settings) -> None:
    """A wait of 40.3 s whose HoldTime was 41 (joined at .9 of a second, answered at .2) is
    outside T for app_queue; the float wait truncated (40) would count it within."""
    joined = datetime(2026, 3, 3, 9, 0, 0, 900_000, tzinfo=UTC)
    answered_at = joined + timedelta(seconds=40.3)
    abandoned_at = joined + timedelta(seconds=60, milliseconds=400)
    facts = [
        CallQueued(linkedid="2.1", queue="hotline", position=1, at=joined),
        CallAnswered(
            linkedid="2.1", queue="hotline", agent="a1", wait_s=40.3, wait_whole_s=41,
            at=answered_at,
        ),
        CallQueued(linkedid="2.2", queue="hotline", position=1, at=joined + timedelta(seconds=20)),
        CallAbandoned(
            linkedid="2.2", queue="hotline", wait_s=40.4, wait_whole_s=41, position=1,
            original_position=1, at=abandoned_at,
        ),
    ]  # fmt: skip
    await record(settings, facts)
    params = {"from": "2026-03-03T12:00:00+03:00", "to": "2026-03-03T13:00:00+03:00"}
    reply = await client.get(
        "/api/metrics/service-level", params=params, headers=auth("supervisor")
    )
    assert reply.status_code == 200, reply.text
    hotline = reply.json()["total"]["hotline"]
    assert (hotline["answered"], hotline["abandoned"]) == (1, 1)
    assert hotline["answered_within_whole_s"] == 0
    assert hotline["abandoned_within_whole_s"] == 0
    assert (hotline["perf"], hotline["perf2"]) == (0.0, 0.0)


@pytest.fixture
async def live_pbx(redis):
    """A simulator on today's clock (live figures are for today) with a tracker."""
    async with SimulatedAsterisk(SimConfig(timestampevents=True, start_s=time.time())) as pbx:
        async with running_tracker(pbx, redis) as service:
            pbx.add_agent("agent1", "hotline", answer_delay_s=2, talk_s=600)
            pbx.place_call("79000000001", "Alice", patience_s=600)
            pbx.place_call("79000000002", "Bob", patience_s=600)
            pbx.place_call("79000000003", "Carol", patience_s=6)
            await pbx.run_for(8)
            await settle(service)
            yield pbx, service


async def test_live_queues_and_agents(client, live_pbx) -> None:
    queues = (await client.get("/api/queues/live", headers=auth("supervisor"))).json()
    (hotline,) = queues["queues"]
    assert [w["caller_name"] for w in hotline["waiting"]] == ["Bob"]
    assert hotline["waiting"][0]["position"] == 1
    assert hotline["longest_wait_s"] > 0
    for window in ("today", "last_15m", "last_60m"):
        figures = hotline["service_level"][window]
        assert (figures["answered"], figures["abandoned"], figures["sl"]) == (1, 1, 50.0)
    assert queues["all"]["waiting_count"] == 1
    agents = (await client.get("/api/agents/live", headers=auth("supervisor"))).json()
    assert [(a["name"], a["status"], a["queues"]) for a in agents["agents"]] == [
        ("agent1", "talking", ["hotline"])
    ]


async def test_metrics_in_prometheus_format(client, live_pbx) -> None:
    reply = await client.get("/metrics", headers=auth("service"))
    assert reply.headers["content-type"].startswith("text/plain")
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(reply.text)
        for s in family.samples
    }
    hotline = (("queue", "hotline"),)
    assert samples[("hotline_queue_offered_total", hotline)] == 3
    assert samples[("hotline_queue_answered_total", hotline)] == 1
    assert samples[("hotline_queue_answered_within_threshold_total", hotline)] == 1
    assert samples[("hotline_queue_abandoned_total", hotline)] == 1
    assert samples[("hotline_queue_waiting_callers", hotline)] == 1
    assert samples[("hotline_queue_longest_wait_seconds", hotline)] > 0
    level = ("hotline_queue_service_level_percent", (("queue", "hotline"), ("window", "today")))
    assert samples[level] == 50.0


async def test_stream_delivers_a_change(client, live_pbx) -> None:
    pbx, service = live_pbx
    request = asyncio.create_task(
        client.get("/api/stream/live", params={"limit": 1}, headers=auth("supervisor"))
    )
    # The subscription starts inside the request: make changes until one is delivered.
    for _ in range(200):
        if request.done():
            break
        pbx.pause_agent("agent1", not service.tracker.agents.agents["agent1"].paused, "break")
        await pbx.run_for(1)
        await asyncio.sleep(0.02)
    reply = await asyncio.wait_for(request, 5)
    assert reply.status_code == 200
    assert reply.headers["content-type"].startswith("text/event-stream")
    # SSE fields in any order (sse-starlette writes `id:` first): one event, a change
    events = [b for b in reply.text.split("\n\n") if "\nevent: " in f"\n{b}"]
    assert len(events) == 1
    assert "event: change" in events[0] and '"agent1"' in events[0]
    assert "id: 1" in events[0].splitlines()


def test_live_state_refuses_a_zero_ttl() -> None:
    with pytest.raises(ValueError, match="TTL"):
        LiveState(None, TEST_KEYS, ttl_s=0)  # type: ignore[arg-type]
