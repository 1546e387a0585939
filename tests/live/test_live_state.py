"""The live state in Redis: waiting callers, agents, outcomes, one pipeline per batch, TTLs."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC

import pytest

from callqueue.live import LiveState
from crm.supervisor.live import read_agents, read_counters, read_queues
from tests.conftest import TEST_KEYS
from tests.live.conftest import running_tracker

pytestmark = pytest.mark.redis


async def settle(service) -> None:
    """Let the live writer flush what the tracker has read."""
    await asyncio.wait_for(service.manager.send_action({"Action": "Ping"}), 5)
    for _ in range(100):
        if not service.live.dirty:
            return
        await asyncio.sleep(0.01)
    raise AssertionError("live state never flushed")


async def test_waiting_callers_agents_and_outcomes(pbx, redis) -> None:
    async with running_tracker(pbx, redis) as service:
        pbx.add_agent("agent1", "hotline", answer_delay_s=2, talk_s=30)
        pbx.place_call("79000000001", "Алиса", patience_s=600)
        pbx.place_call("79000000002", "Bob", patience_s=600)
        pbx.place_call("79000000003", "Carol", patience_s=8)
        await pbx.run_for(5)
        await settle(service)
        now = pbx.now()
        live = await read_queues(redis, TEST_KEYS, now, UTC)
        (hotline,) = live["queues"]
        waiting = hotline["waiting"]
        assert [w["caller_name"] for w in waiting] == ["Bob", "Carol"]
        assert [w["position"] for w in waiting] == [1, 2]
        assert hotline["longest_wait_s"] == pytest.approx(now - waiting[0]["joined_at"])
        agents = await read_agents(redis, TEST_KEYS)
        assert [(a["name"], a["status"]) for a in agents] == [("agent1", "talking")]

        pbx.pause_agent("agent1", True, "lunch")
        await pbx.run_for(30)  # Carol gives up; agent1 finishes Alice's call
        await settle(service)
        agents = await read_agents(redis, TEST_KEYS)
        assert agents[0]["status"] == "paused"
        assert agents[0]["paused_reason"] == "lunch"
        assert agents[0]["calls_today"] == 1
        live = await read_queues(redis, TEST_KEYS, pbx.now(), UTC)
        hotline = live["queues"][0]
        assert [w["caller_name"] for w in hotline["waiting"]] == ["Bob"]
        today = hotline["service_level"]["today"]
        assert (today["answered"], today["abandoned"], today["answered_within"]) == (1, 1, 1)
        assert today["sl"] == 50.0  # Carol waited 8 s > S = 5: she counts against us
        counters = await read_counters(redis, TEST_KEYS)
        assert counters["hotline"] == {
            "offered": 3,
            "answered": 1,
            "answered_within": 1,
            "abandoned": 1,
        }


async def test_one_pipeline_per_batch_and_a_change_message(redis) -> None:
    from callqueue.agents import AgentState

    live = LiveState(redis, TEST_KEYS, ttl_s=30)
    pubsub = redis.pubsub()
    await pubsub.subscribe(TEST_KEYS.live_changes)
    await pubsub.get_message(timeout=1)  # the subscribe confirmation
    for n in range(50):
        live.agent_changed(AgentState(name=f"agent{n}", queues={"hotline"}))
    calls = 0
    original = redis.pipeline

    def counting_pipeline(*args, **kwargs):
        nonlocal calls
        calls += 1
        return original(*args, **kwargs)

    redis.pipeline = counting_pipeline
    try:
        assert await live.flush(1000.0)
        assert not await live.flush(1001.0), "nothing changed: nothing written"
    finally:
        del redis.pipeline
    assert calls == 1
    assert len(await read_agents(redis, TEST_KEYS)) == 50
    message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=2)
    assert message is not None
    assert len(json.loads(message["data"])["agents"]) == 50
    await pubsub.aclose()


async def test_a_dead_tracker_leaves_no_ghosts(pbx, redis) -> None:
    async with running_tracker(pbx, redis, live_ttl_s=1, heartbeat_s=0.2) as service:
        pbx.add_agent("agent1", "hotline")
        pbx.place_call("79000000001", "Alice", patience_s=600)
        pbx.place_call("79000000002", "Bob", patience_s=600)
        await pbx.run_for(3)
        await settle(service)
        await asyncio.sleep(1.3)  # the heartbeat keeps everything alive past one TTL
        assert await redis.exists(TEST_KEYS.live_agent("agent1"))
        assert await redis.hlen(f"{TEST_KEYS.live}queue:hotline:waiting") == 1
        assert 0 < await redis.ttl(f"{TEST_KEYS.live}queue:hotline:waiting") <= 1
    # the tracker is gone (stopped, as if killed): within one TTL nothing is left
    await asyncio.sleep(1.2)
    assert await redis.keys(f"{TEST_KEYS.live}*") == []
    assert (await read_queues(redis, TEST_KEYS, pbx.now(), UTC))["queues"] == []


async def test_the_counter_and_the_figures_share_one_answered_within_rule(redis) -> None:
    """The Prometheus counter `answered_within` and the service-level maths agree, at
    T exactly too, with the defaults the settings use."""
    from datetime import datetime

    from core.facts import CallAnswered
    from core.service_level import (
        DEFAULT_SHORT_ABANDON_S,
        DEFAULT_THRESHOLD_S,
        EntryOutcome,
        service_level,
    )
    from core.settings import ServiceLevelSettings

    sl = ServiceLevelSettings()
    assert (sl.threshold_s, sl.short_abandon_s) == (DEFAULT_THRESHOLD_S, DEFAULT_SHORT_ABANDON_S)
    waits = [DEFAULT_THRESHOLD_S - 0.5, DEFAULT_THRESHOLD_S, DEFAULT_THRESHOLD_S + 0.001]
    live = LiveState(redis, TEST_KEYS, ttl_s=30)
    at = datetime(2026, 12, 1, 12, tzinfo=UTC)
    live.collect(
        [
            CallAnswered(linkedid=f"1.{n}", queue="hotline", agent="agent1", wait_s=wait, at=at)
            for n, wait in enumerate(waits)
        ]
    )
    await live.flush(at.timestamp())
    figures = service_level(EntryOutcome("hotline", "answered", wait) for wait in waits)
    counters = (await read_counters(redis, TEST_KEYS))["hotline"]
    assert counters["answered_within"] == figures["hotline"]["answered_within"] == 2


async def test_a_waiting_callers_number_told_later_reaches_the_waiting_list(redis) -> None:
    """The caller joins with no caller ID; a NewCallerid names them while they wait (the
    dialplan's CALLERID()): the waiting list shows the number at the next flush."""
    from callqueue.tracker import CallTracker
    from core.ami.parser import AmiParser
    from tests.tracker.conftest import frame

    tracker = CallTracker()
    live = LiveState(redis, TEST_KEYS, ttl_s=30)
    live.attach(tracker)
    parser = AmiParser(clock=lambda: 1000.0)
    channel, linkedid = "PJSIP/trunk-00000001", "1795400000.1"

    async def send(event: str, num: str, **more: str) -> None:
        headers = {"Event": event, "Channel": channel, "Uniqueid": linkedid, "Linkedid": linkedid}
        text = frame(**headers, CallerIDNum=num, CallerIDName="<unknown>", **more)
        for message in parser.feed(text):
            live.collect(tracker.handle(message))
        await live.flush(1000.0)

    await send("Newchannel", "<unknown>", Exten="100")
    await send("QueueCallerJoin", "<unknown>", Queue="hotline", Position="1", Count="1")
    (hotline,) = (await read_queues(redis, TEST_KEYS, 1000.0, UTC))["queues"]
    assert [w["caller_num"] for w in hotline["waiting"]] == [""]
    await send("NewCallerid", "79000000001")
    (hotline,) = (await read_queues(redis, TEST_KEYS, 1000.0, UTC))["queues"]
    assert [w["caller_num"] for w in hotline["waiting"]] == ["79000000001"]


async def test_what_is_collected_while_a_flush_is_in_flight_is_written_next(redis) -> None:
    """The AMI reader keeps handling events while a flush's pipeline is in flight (the
    tracker's `on_read` runs from `data_received`): an answer, an agent's change and a
    counter collected then are written by the next flush, not lost (seen on the real
    tier's busy period: the live figures one answer short of Asterisk's `Completed`)."""
    from datetime import datetime

    from callqueue.agents import AgentState
    from core.facts import CallAnswered

    live = LiveState(redis, TEST_KEYS, ttl_s=30)
    at = datetime(2026, 12, 1, 12, tzinfo=UTC)

    def answered(n: int) -> CallAnswered:
        return CallAnswered(linkedid=f"1.{n}", queue="hotline", agent="agent1", wait_s=3, at=at)

    live.collect([answered(1)])
    original = redis.pipeline

    def pipeline_with_a_read_in_flight(*args, **kwargs):
        pipe = original(*args, **kwargs)
        execute = pipe.execute

        async def execute_while_the_reader_collects(*a, **k):
            result = await execute(*a, **k)
            live.collect([answered(2)])  # an AMI read handled during the round trip
            live.agent_changed(AgentState(name="agent2", queues={"hotline"}))
            return result

        pipe.execute = execute_while_the_reader_collects
        return pipe

    redis.pipeline = pipeline_with_a_read_in_flight
    try:
        assert await live.flush(at.timestamp())
    finally:
        del redis.pipeline
    assert live.dirty, "what came during the flush waits for the next one"
    assert await live.flush(at.timestamp())
    (hotline,) = (await read_queues(redis, TEST_KEYS, at.timestamp(), UTC))["queues"]
    assert hotline["service_level"]["today"]["answered"] == 2
    assert (await read_counters(redis, TEST_KEYS))["hotline"]["answered"] == 2
    assert [a["name"] for a in await read_agents(redis, TEST_KEYS)] == ["agent2"]
