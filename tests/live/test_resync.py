"""After a (re)login the tracker resynchronises from CoreShowChannels and QueueStatus:
calls in progress during an outage are neither lost nor counted twice."""

from __future__ import annotations

import asyncio

import pytest

from crm.supervisor.live import read_agents, read_counters
from tests.conftest import TEST_KEYS
from tests.live.conftest import drop_connection, running_tracker
from tests.live.test_live_state import settle

pytestmark = pytest.mark.redis


def by_caller(service) -> dict[str, object]:
    return {e.caller_name or e.caller_num: e for e in service.tracker.entries()}


async def test_an_outage_loses_no_call_and_counts_none_twice(pbx, redis) -> None:
    async with running_tracker(pbx, redis, keep_finished=True) as service:
        pbx.add_agent("agent1", "hotline", answer_delay_s=2, talk_s=100)
        pbx.place_call("79000000001", "Alice", patience_s=600)
        pbx.place_call("79000000002", "Bob", patience_s=600)
        pbx.place_call("79000000003", "Carol", patience_s=8)
        await pbx.run_for(5)
        await settle(service)
        assert by_caller(service)["Alice"].outcome == "answered"

        # The tracker is cut off for 30 s; meanwhile Carol gives up, agent2 logs in and
        # answers Bob, Dave calls and agent3 answers him, Erin calls and waits. Not one
        # of these events reaches the tracker. Fay calls and gives up: of her, only
        # Asterisk's counters will tell.
        await asyncio.wait_for(service.manager.send_action({"Action": "Ping"}), 5)
        service.resynced.clear()
        for session in list(pbx.server.sessions):
            session.transport.abort()
        await pbx.run_for(5)
        pbx.add_agent("agent2", "hotline", answer_delay_s=1, talk_s=60)
        await pbx.run_for(5)
        pbx.place_call("79000000004", "Dave", patience_s=600)
        pbx.add_agent("agent3", "hotline", answer_delay_s=1, talk_s=60)
        await pbx.run_for(5)
        pbx.place_call("79000000005", "Erin", patience_s=600)
        pbx.place_call("79000000006", "Fay", patience_s=2)  # comes and goes unseen
        await pbx.run_for(15)
        await asyncio.wait_for(service.resynced.wait(), 10)
        await settle(service)

        entries = by_caller(service)
        assert entries["Carol"].outcome == "abandoned"
        assert entries["Bob"].outcome == "answered" and entries["Bob"].agent == "agent2"
        assert entries["Dave"].outcome == "answered" and entries["Dave"].agent == "agent3"
        assert entries["Erin"].outcome == "waiting" and entries["Erin"].join_estimated
        assert service.tracker.unseen == {"joined": 2, "answered": 2, "ended": 1, "missed": 1}
        agents = {a["name"]: a for a in await read_agents(redis, TEST_KEYS)}
        assert agents["agent2"]["status"] == "talking", "agent2 was learnt from QueueStatus"

        # A second reconnect with nothing missed changes nothing.
        facts_before = service.outbox.sent + len(service.outbox)
        await drop_connection(pbx, service, outage_s=0)
        await settle(service)
        assert service.outbox.sent + len(service.outbox) == facts_before
        assert len(service.tracker.entries()) == 5

        await pbx.run_for(400)  # every call ends
        await settle(service)
        await service.outbox.drained(5)

    truth = {c.caller_name: c for c in pbx.ground_truth if c.caller_name != "Fay"}
    entries = by_caller(service)
    assert sorted(entries) == sorted(truth) == ["Alice", "Bob", "Carol", "Dave", "Erin"]
    assert not service.tracker.calls
    for name, call in truth.items():
        (visit,) = call.visits
        entry = entries[name]
        assert entry.outcome == call.outcome, name
        assert entry.agent == (visit.agent or ""), name
    assert entries["Alice"].wait_s == pytest.approx(truth["Alice"].wait_s, abs=1e-3)
    # Answered unseen: the wait comes from AgentComplete's HoldTime and TalkTime.
    assert entries["Bob"].wait_s == pytest.approx(truth["Bob"].wait_s, abs=1.0)
    # Joined unseen: QueueStatus's Wait, or the channel's Duration, in whole seconds.
    assert entries["Dave"].wait_s == pytest.approx(truth["Dave"].wait_s, abs=1.0)
    assert entries["Erin"].wait_s == pytest.approx(truth["Erin"].wait_s, abs=1.0)
    # Abandoned unseen: known to lie between the last event seen and the resync.
    assert truth["Carol"].wait_s <= entries["Carol"].wait_s <= truth["Carol"].wait_s + 30
    counters = (await read_counters(redis, TEST_KEYS))["hotline"]
    within = sum(1 for c in truth.values() if c.outcome == "answered" and c.wait_s <= 40)
    assert within == 3  # Alice, Bob, Dave; Erin waits for a free agent for over a minute
    assert counters == {"offered": 5, "answered": 4, "answered_within": within, "abandoned": 1}
    facts = await redis.xrange(TEST_KEYS.facts, count=1000)
    keys = [fields[b"key"] for _, fields in facts]
    assert len(keys) == len(set(keys)), "no fact sent twice"
    queued = [k for k in keys if b":queued:" in k]
    assert len(queued) == 5
