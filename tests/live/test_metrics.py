"""`/metrics` per agent and per queue: the same figures as `GET /api/wallboard` after a
simulator run, label values from Asterisk escaped, and the counters added up."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from asterisksim import SimConfig, SimulatedAsterisk
from callqueue.live import LiveState
from core.facts import AgentRingNoAnswer, CallAnswered, CallCompleted
from crm.supervisor.live import read_agent_counters
from crm.supervisor.metrics import AGENT_STATES, MetricsSnapshot, prometheus_text
from tests.conftest import TEST_KEYS, auth
from tests.live.conftest import running_tracker
from tests.live.test_live_state import settle
from tests.live.test_wallboard import board_client, board_settings  # noqa: F401 - fixtures

pytestmark = pytest.mark.redis
# A member name as Asterisk may give it: a quote, a backslash, a space, Cyrillic.
ODD = 'Пётр "Q" O\'Brien \\ 7'
TALK_S = 30


Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def samples_of(text: str) -> Samples:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def of(samples: Samples, name: str, **labels: str) -> float:
    return samples[(name, tuple(sorted(labels.items())))]


def series(samples: Samples, name: str) -> list[dict[str, str]]:
    return [dict(labels) for (n, labels) in samples if n == name]


@pytest.fixture
async def run(board_client, redis) -> dict[str, Any]:  # noqa: F811 - the fixture
    """A scripted half hour on today's clock: an agent who talks, one with an odd name,
    one who never answers, one paused; then `/metrics` and the wallboard of that moment."""
    async with SimulatedAsterisk(SimConfig(timestampevents=True, start_s=time.time())) as pbx:
        async with running_tracker(pbx, redis) as service:
            pbx.add_agent("agent1", "hotline", answer_delay_s=2, talk_s=TALK_S)
            pbx.add_agent(ODD, "hotline", answer_delay_s=3, talk_s=TALK_S)
            pbx.add_agent("sleepy", "hotline", answer_delay_s=600, talk_s=TALK_S)
            pbx.add_agent("agent4", "hotline", answer_delay_s=2, talk_s=TALK_S)
            pbx.pause_agent("agent4", True, "обед")
            for i in range(12):
                pbx.place_call(f"7900000{i:04d}", f"Caller {i}", patience_s=90)
                await pbx.run_for(20)
            pbx.place_call("79000009999", "Last", patience_s=600, talk_s=600)
            await pbx.run_for(25)  # the last caller still waits: a ringing agent to show
            await settle(service)
            board_reply = await board_client.get("/api/wallboard", headers=auth("supervisor"))
            reply = await board_client.get("/metrics", headers=auth("service"))
            again = await board_client.get("/api/wallboard", headers=auth("supervisor"))
    assert reply.status_code == 200 and board_reply.status_code == 200
    board = board_reply.json()
    # the same moment: nothing changed between the two readings of the board
    assert [(a["name"], a["status"], a["answered_today"]) for a in again.json()["agents"]] == [
        (a["name"], a["status"], a["answered_today"]) for a in board["agents"]
    ]
    return {"board": board, "text": reply.text, "samples": samples_of(reply.text)}


async def test_per_agent_state_and_calls_equal_the_wallboard(run) -> None:
    board, samples = run["board"], run["samples"]
    agents = {a["name"]: a for a in board["agents"]}
    assert set(agents) == {"agent1", ODD, "sleepy", "agent4"}
    assert {s["agent"] for s in series(samples, "hotline_agent_state")} == set(agents)
    for name, agent in agents.items():
        states = {
            s["state"]: of(samples, "hotline_agent_state", **s)
            for s in series(samples, "hotline_agent_state")
            if s["agent"] == name
        }
        assert set(states) == set(AGENT_STATES)
        assert [state for state, value in states.items() if value == 1] == [agent["status"]]
        assert of(samples, "hotline_agent_answered_today", agent=name) == agent["answered_today"]
        assert of(samples, "hotline_agent_calls_taken", agent=name) == agent["calls_taken"]
        reason = agent["paused_reason"] if agent["paused"] else ""
        assert of(samples, "hotline_agent_paused", agent=name, reason=reason) == agent["paused"]
        assert of(samples, "hotline_agent_state_since_timestamp_seconds", agent=name) == (
            pytest.approx(agent["since"])
        )
        for queue in agent["queues"]:
            assert of(samples, "hotline_agent_queue_member", agent=name, queue=queue) == 1
    # what the run made, so the equalities above are not of zeros
    assert agents["agent4"]["status"] == "paused" and agents["agent4"]["paused_reason"] == "обед"
    assert of(samples, "hotline_agent_paused", agent="agent4", reason="обед") == 1
    assert agents["agent1"]["answered_today"] > 0 and agents[ODD]["answered_today"] > 0
    assert agents["sleepy"]["answered_today"] == 0
    assert {a["status"] for a in agents.values()} == {"paused", "talking", "available", "ringing"}


async def test_per_queue_live_figures_equal_the_wallboard(run) -> None:
    board, samples = run["board"], run["samples"]
    for queue in [*board["queues"], board["all"]]:
        name = queue["queue"]
        assert of(samples, "hotline_queue_waiting_callers", queue=name) == queue["waiting_count"]
        for window, figures in queue["service_level"].items():
            labels = {"queue": name, "window": window}
            assert of(samples, "hotline_queue_answered_in_window", **labels) == figures["answered"]
            assert (
                of(samples, "hotline_queue_abandoned_in_window", **labels) == figures["abandoned"]
            )
            assert of(samples, "hotline_queue_service_level_percent", **labels) == figures["sl"]
            asa = of(samples, "hotline_queue_average_speed_of_answer_seconds", **labels)
            assert asa == pytest.approx(figures["asa_s"])
    assert of(samples, "hotline_service_level_goal_percent") == board["goal_pct"]
    assert of(samples, "hotline_service_level_threshold_seconds") == board["threshold_s"]
    today = board["all"]["service_level"]["today"]
    assert today["answered"] == sum(a["answered_today"] for a in board["agents"])
    assert today["answered"] > 0 and today["abandoned"] > 0  # the run made both


async def test_talk_time_and_missed_rings_per_agent_add_up_to_the_queue(run) -> None:
    board, samples = run["board"], run["samples"]
    today = {a["name"]: a["answered_today"] for a in board["agents"]}
    per_agent = {
        s["agent"]: s
        for s in series(samples, "hotline_agent_answered_total")
        if s["queue"] == "hotline"
    }
    # counters for those who were rung (the paused agent never was)
    assert set(per_agent) == {"agent1", ODD, "sleepy"}
    hotline = {"queue": "hotline"}
    total_talk = total_completed = total_answered = 0.0
    for name in per_agent:
        labels = {"agent": name, "queue": "hotline"}
        answered = of(samples, "hotline_agent_answered_total", **labels)
        completed = of(samples, "hotline_agent_completed_total", **labels)
        talk = of(samples, "hotline_agent_talk_seconds_total", **labels)
        assert answered == today[name]  # the tracker ran the whole day of the run
        # every call lasts TALK_S (the last caller's is still going: answered, not completed)
        assert talk == completed * TALK_S
        assert completed in (answered, answered - 1)
        total_talk, total_completed = total_talk + talk, total_completed + completed
        total_answered += answered
    # an agent talking now has answered a call not completed yet
    talking = [a for a in board["agents"] if a["status"] == "talking"]
    assert talking and total_completed == total_answered - len(talking) > 0
    assert of(samples, "hotline_queue_talk_seconds_total", **hotline) == total_talk
    assert of(samples, "hotline_queue_completed_total", **hotline) == total_completed
    assert of(samples, "hotline_queue_answered_total", **hotline) == total_answered
    sleepy = {"agent": "sleepy", "queue": "hotline"}
    assert ("hotline_agent_ring_no_answer_total", tuple(sorted(sleepy.items()))) in samples
    assert of(samples, "hotline_agent_ring_no_answer_total", **sleepy) >= 1


async def test_an_odd_member_name_is_escaped_in_the_text(run) -> None:
    text = run["text"]
    escaped = ODD.replace("\\", "\\\\").replace('"', '\\"')
    assert f'hotline_agent_answered_today{{agent="{escaped}"}}' in text
    assert 'agent="Пётр' in text  # UTF-8 as is, not \u escapes
    assert of(run["samples"], "hotline_agent_calls_taken", agent=ODD) >= 1


def test_an_unknown_state_still_shows_and_no_agent_shows_nothing() -> None:
    def board(*agents: dict[str, Any]) -> dict[str, Any]:
        return {
            "queues": [],
            "all": _empty_all(),
            "tracker_seen_at": None,
            "goal_pct": 80.0,
            "threshold_s": 20,
            "agents": list(agents),
        }

    agent = {
        "name": "x\ny",
        "status": "on_hold",
        "since": 0.0,
        "paused": False,
        "paused_reason": "",
        "paused_since": None,
        "answered_today": 0,
        "calls_taken": 0,
        "queues": [],
    }
    samples = samples_of(prometheus_text(MetricsSnapshot(board(agent))).decode())
    assert of(samples, "hotline_agent_state", agent="x\ny", state="on_hold") == 1
    assert (
        sum(of(samples, "hotline_agent_state", **s) for s in series(samples, "hotline_agent_state"))
        == 1
    )
    assert not series(samples, "hotline_agent_state_since_timestamp_seconds")
    assert of(samples, "hotline_service_level_goal_percent") == 80.0
    empty = samples_of(prometheus_text(MetricsSnapshot(board())).decode())
    assert not series(empty, "hotline_agent_state")
    assert not series(empty, "hotline_tracker_last_write_timestamp_seconds")


def _empty_all() -> dict[str, Any]:
    none = {"answered": 0, "abandoned": 0, "sl": None, "asa_s": None}
    return {
        "queue": "all",
        "waiting_count": 0,
        "longest_wait_s": 0.0,
        "service_level": dict.fromkeys(("today", "last_15m", "last_60m"), none),
    }


async def test_agent_counters_survive_a_failed_write(redis) -> None:
    """Per queue and agent: answers, completions with their talk, unanswered rings; a
    flush whose pipeline fails keeps them for the next one, counted once."""
    live = LiveState(redis, TEST_KEYS, ttl_s=30)
    at = datetime(2026, 12, 7, 12, tzinfo=UTC)
    common = {"at": at}
    live.collect(
        [
            CallAnswered(linkedid="1.1", queue="hotline", agent="a1", wait_s=3, **common),
            CallCompleted(linkedid="1.1", queue="hotline", agent="a1", talk_s=61, **common),
            CallAnswered(linkedid="1.2", queue="vip", agent="a1", wait_s=1, **common),
            AgentRingNoAnswer(agent="a2", queue="hotline", linkedid="1.2", **common),
        ]
    )
    original = redis.pipeline

    def failing_pipeline(*args, **kwargs):
        pipe = original(*args, **kwargs)

        async def execute(*a, **k):
            raise ConnectionError("Redis went away")

        pipe.execute = execute
        return pipe

    redis.pipeline = failing_pipeline
    try:
        with pytest.raises(ConnectionError):
            await live.flush(at.timestamp())
    finally:
        del redis.pipeline
    live.collect([CallCompleted(linkedid="1.2", queue="vip", agent="a1", talk_s=7.5, **common)])
    assert await live.flush(at.timestamp())
    await live.refresh(at.timestamp())  # the heartbeat names the queues the failed write did not
    zero = {"answered": 0, "completed": 0, "talk_s": 0, "ring_no_answer": 0}
    assert await read_agent_counters(redis, TEST_KEYS) == {
        "hotline": {
            "a1": zero | {"answered": 1, "completed": 1, "talk_s": 61.0},
            "a2": zero | {"ring_no_answer": 1},
        },
        "vip": {"a1": zero | {"answered": 1, "completed": 1, "talk_s": 7.5}},
    }


async def test_a_new_tracker_counts_its_agents_from_zero_alone(redis) -> None:
    """A restarted tracker's first write replaces its predecessor's counters of the queue
    (a counter reset), so the queue's sums are over one tracker's counts."""
    key = f"{TEST_KEYS.live}queue:hotline:agents"
    old = {"answered": 9, "completed": 9, "talk_s": 900.0, "ring_no_answer": 3}
    await redis.hset(key, mapping={"a1": json.dumps(old), "gone": json.dumps(old)})
    live = LiveState(redis, TEST_KEYS, ttl_s=30)
    at = datetime(2026, 12, 7, 12, tzinfo=UTC)
    live.collect([CallAnswered(linkedid="1.1", queue="hotline", agent="a1", wait_s=3, at=at)])
    await live.flush(at.timestamp())
    live.collect([AgentRingNoAnswer(agent="a2", queue="hotline", linkedid="1.2", at=at)])
    await live.flush(at.timestamp())
    await live.refresh(at.timestamp())
    zero = {"answered": 0, "completed": 0, "talk_s": 0, "ring_no_answer": 0}
    assert await read_agent_counters(redis, TEST_KEYS) == {
        "hotline": {"a1": zero | {"answered": 1}, "a2": zero | {"ring_no_answer": 1}}
    }
