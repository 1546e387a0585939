"""A generated day of >= 5,000 calls through the tracker service, two AMI outages mid-day:
every call accounted for, and SL, ASA and abandons equal to the simulator's truth."""

from __future__ import annotations

import asyncio
import time

import pytest

from asterisksim.traffic import DEFAULT_RATE_PER_HOUR, TrafficGenerator, TrafficProfile
from core.service_level import service_level
from hotline.demo.report import truth_entries  # the simulator's truth as queue entries
from tests.live.conftest import drop_connection, running_tracker

pytestmark = pytest.mark.redis

OUTAGE_HOURS = (11, 15)
OUTAGE_S = 3.0  # simulated seconds each outage hides from the tracker


def check_agents(pbx, tracker) -> int:
    """Each logged-in agent's pause and reason as the tracker has them; paused agents seen."""
    paused = 0
    for member in pbx.pbx.queues["hotline"].members.values():
        agent = tracker.agents.agents[member.name]
        assert (agent.paused, agent.paused_reason) == (member.paused, member.paused_reason)
        assert (agent.status == "paused") == (member.paused and not member.in_call)
        paused += member.paused
    return paused


async def test_a_day_with_two_outages_matches_the_truth(pbx, redis) -> None:
    started = time.perf_counter()
    profile = TrafficProfile(
        seed=11,
        rate_per_hour=[rate * 6 for rate in DEFAULT_RATE_PER_HOUR],
        agents=40,
        shift_hours=(6, 23),
        pause_probability=0.3,
        transfer_probability=0.05,
    )
    day_s = pbx.now()
    end_s = TrafficGenerator(pbx, profile).schedule_day(day_s)
    paused_checks = 0
    async with running_tracker(pbx, redis, keep_finished=True) as service:
        for step in range(24 * 6):  # ten-minute steps
            await pbx.run_until(day_s + step * 600)
            if step % 6 == 3 and step // 6 in OUTAGE_HOURS:  # at half past
                await drop_connection(pbx, service, outage_s=OUTAGE_S)
            await asyncio.wait_for(service.manager.send_action({"Action": "Ping"}), 30)
            paused_checks += check_agents(pbx, service.tracker)
        await pbx.run_until(end_s + 7200)  # let the last calls end
        # the simulator runs ahead of its reader: a Ping's answer comes after every event
        await asyncio.wait_for(service.manager.send_action({"Action": "Ping"}), 30)
        await service.outbox.drained(30)
        tracker = service.tracker
        assert service.resyncs == 1 + len(OUTAGE_HOURS)
        assert tracker.errors == 0
        print("found by the resyncs:", tracker.unseen)
        assert paused_checks > 5, "agents were seen paused (with their reason) during the day"
        assert sum(tracker.unseen.values()) > 0, "the outages did hide something"

    truth = truth_entries(pbx)
    ours = {(e.linkedid, e.entry): e for e in tracker.entries()}
    assert len(pbx.ground_truth) >= 5000
    assert sum(1 for c in pbx.ground_truth if c.transfers) > 50
    assert sum(1 for e in truth if e.abandoned) > 100
    still_open = {c.linkedid for c in pbx.ground_truth if c.ended_at is None}
    assert set(tracker.calls) == still_open, "every call that ended is over, the rest open"
    # Only a call that came and went inside an outage can be missing, and the
    # resync counts those from Asterisk's queue counters.
    assert len(truth) - len(ours) == tracker.unseen["missed"]
    truth_keys = {(e.linkedid, e.entry) for e in truth}
    assert len(truth_keys) == len(truth)
    assert sorted(set(ours) ^ truth_keys) == [], "every queue entry accounted for, none twice"
    assert len(tracker.entries()) == len(truth)
    mismatches = []
    estimated = 0
    for expected in truth:
        got = ours[(expected.linkedid, expected.entry)]
        # A caller who joined during an outage has a join time Asterisk gives only in
        # whole seconds (QueueStatus `Wait`): that wait is right within a second.
        estimated += got.join_estimated
        tolerance_s = 1.0 if got.join_estimated else 1e-3
        if (
            got.outcome != expected.outcome
            or got.agent != expected.agent
            or got.queue != expected.queue
            or abs((got.wait_s or 0) - (expected.wait_s or 0)) > tolerance_s
        ):
            mismatches.append((expected.linkedid, expected.entry, expected.outcome, got.outcome))
    assert mismatches == []
    assert estimated <= 10, "only callers who joined during the two outages"

    figures = service_level(e.as_outcome() for e in tracker.entries())
    truth_figures = service_level(e.as_outcome() for e in truth)
    for queue, expected in truth_figures.items():
        got = figures[queue]
        for key in ("offered", "answered", "answered_within", "abandoned", "sl", "abandon_rate"):
            assert got[key] == expected[key], (queue, key)
        assert got["asa_s"] == pytest.approx(expected["asa_s"], abs=0.01)
    assert time.perf_counter() - started < 90
