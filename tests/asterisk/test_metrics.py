"""`/metrics` on the real Asterisk: an agent's state, pause, calls and talk time as
Asterisk told them and as the wallboard shows them, for a member name with a quote, a
backslash and Cyrillic, and a ring the slow agent let go."""

from __future__ import annotations

import asyncio
import time

from tests.asterisk.harness import Line
from tests.live.test_metrics import Samples, of, samples_of, series

ODD = 'Пётр "Q" O\'Brien \\ 7'
SLOW = "agent04"  # rings past the queue's 15 s timeout


async def _metrics(line: Line) -> Samples:
    reply = await line.crm.get("/metrics")
    assert reply.status_code == 200, reply.text
    return samples_of(reply.text)


async def _steady(line: Line) -> tuple[Samples, dict]:
    """`/metrics` read between two wallboards that show the agents alike (the agent who
    hung up may leave wrap-up meanwhile)."""
    for _ in range(20):
        first = (await line.crm.get("/api/wallboard")).json()["agents"]
        samples = await _metrics(line)
        board = (await line.crm.get("/api/wallboard")).json()
        if [(a["name"], a["status"]) for a in first] == [
            (a["name"], a["status"]) for a in board["agents"]
        ]:
            return samples, board
        await asyncio.sleep(0.5)
    raise AssertionError("the agents never held still")


def _counter(samples: Samples, name: str, agent: str) -> float:
    return samples.get((name, (("agent", agent), ("queue", "hotline"))), 0.0)


async def test_metrics_tell_what_asterisk_told_and_the_wallboard_shows(line: Line) -> None:
    before = await _metrics(line)
    await line.add_agent(SLOW, answer_s=60)
    caller = await line.call("79000000005", "Vera")
    missed = await line.event("AgentRingNoAnswer", caller, MemberName=SLOW)
    await line.ami.action(
        "QueuePause",
        Queue="hotline",
        Interface=f"Local/{SLOW}@harness-agents/n",
        Paused="true",
        Reason="обед",
    )
    await line.add_agent("agent03", answer_s=1, member_name=ODD)
    await line.event("AgentConnect", caller, MemberName=ODD)
    await asyncio.sleep(2)  # talk
    await line.hang_up(caller)
    complete = await line.agent_complete(caller, ODD)
    talk_s = int(complete["TalkTime"])
    deadline = time.monotonic() + 30
    while True:  # the tracker writes the live state in batches
        after = await _metrics(line)
        done = _counter(after, "hotline_agent_completed_total", ODD)
        if done > _counter(before, "hotline_agent_completed_total", ODD):
            break
        assert time.monotonic() < deadline, "the completed call never reached /metrics"
        await asyncio.sleep(0.25)
    after, board = await _steady(line)

    def grew(name: str, agent: str) -> float:
        return _counter(after, name, agent) - _counter(before, name, agent)

    assert grew("hotline_agent_answered_total", ODD) == 1
    assert grew("hotline_agent_completed_total", ODD) == 1
    assert grew("hotline_agent_talk_seconds_total", ODD) == talk_s
    assert grew("hotline_agent_ring_no_answer_total", SLOW) >= 1
    assert grew("hotline_agent_answered_total", SLOW) == 0
    assert missed["MemberName"] == SLOW
    agents = {a["name"]: a for a in board["agents"]}
    assert agents[SLOW]["paused"] and agents[SLOW]["paused_reason"] == "обед"
    assert of(after, "hotline_agent_paused", agent=SLOW, reason="обед") == 1
    assert agents[ODD]["answered_today"] >= 1
    for name, agent in agents.items():
        now = [
            s["state"]
            for s in series(after, "hotline_agent_state")
            if s["agent"] == name and of(after, "hotline_agent_state", **s) == 1
        ]
        assert now == [agent["status"]], name
        assert of(after, "hotline_agent_answered_today", agent=name) == agent["answered_today"]
        assert of(after, "hotline_agent_calls_taken", agent=name) == agent["calls_taken"]
