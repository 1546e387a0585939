"""The supervisor's figures in Prometheus text format, from one snapshot read from Redis.

The live figures are a wallboard reading (`crm.supervisor.wallboard`, through the app's
`WallboardFeed`): per queue and `all` the waiting callers, longest wait, and per window
the service level, answered, abandoned and ASA; per agent the state (one 0/1 series per
known state), since when, the pause with its reason, calls answered today and Asterisk's
`CallsTaken`, the very figures `GET /api/wallboard` shows. Beside them, the tracker's
counters since it started (a restart is a counter reset): per queue, and per queue and
agent (answered, completed, talk seconds, rings not answered; a queue's talk time is its
agents' sum). Label values are escaped by `prometheus_client` (quotes, backslashes, new
lines; UTF-8 as is).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, get_args

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from redis.asyncio import Redis

from core.keys import RedisKeys
from crm.owed import read_owed
from crm.supervisor.live import read_agent_counters, read_counters
from crm.supervisor.schemas import KnownAgentStatus

MEDIA_TYPE = "text/plain; version=0.0.4; charset=utf-8"
AGENT_STATES: tuple[str, ...] = get_args(KnownAgentStatus)


@dataclass
class MetricsSnapshot:
    """What `/metrics` shows, read from Redis just before."""

    board: dict[str, Any]  # `read_wallboard`
    counters: dict[str, dict[str, int]] = field(default_factory=dict)  # `read_counters`
    agent_counters: dict[str, dict[str, dict[str, float]]] = field(default_factory=dict)
    owed: dict[str, int] = field(default_factory=dict)  # `crm.owed.read_owed`


async def read_snapshot(redis: Redis, keys: RedisKeys, board: dict[str, Any]) -> MetricsSnapshot:
    """`board` (a wallboard reading) and the counters beside it."""
    return MetricsSnapshot(
        board=board,
        counters=await read_counters(redis, keys),
        agent_counters=await read_agent_counters(redis, keys),
        owed=await read_owed(redis, keys),
    )


def prometheus_text(snapshot: MetricsSnapshot) -> bytes:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Snapshot(snapshot))
    return generate_latest(registry)


class _Snapshot(Collector):
    """Collector over figures read from Redis just before `generate_latest`."""

    def __init__(self, snapshot: MetricsSnapshot) -> None:
        self._s = snapshot

    def collect(self) -> Iterable[Metric]:
        yield from self._queue_counters()
        yield from self._queue_live()
        yield from self._agents()
        yield from self._agent_counters()
        yield from self._owed_and_tracker()

    def _queue_counters(self) -> Iterator[Metric]:
        counters = {
            "offered": "Queue entries (callers offered to the queue)",
            "answered": "Queue entries answered by an agent",
            "answered_within_threshold": "Entries answered within the threshold T",
            "abandoned": "Queue entries abandoned by the caller",
        }
        for name, doc in counters.items():
            family = CounterMetricFamily(f"hotline_queue_{name}", doc, labels=["queue"])
            field_ = "answered_within" if name == "answered_within_threshold" else name
            for queue, values in sorted(self._s.counters.items()):
                family.add_metric([queue], values.get(field_, 0))
            yield family
        completed = CounterMetricFamily(
            "hotline_queue_completed",
            "Answered entries whose talk ended (AgentComplete)",
            labels=["queue"],
        )
        talk = CounterMetricFamily(
            "hotline_queue_talk_seconds",
            "Talk time of the completed entries (AgentComplete's TalkTime)",
            labels=["queue"],
        )
        by_agent = self._s.agent_counters
        for queue in sorted(set(self._s.counters) | set(by_agent)):
            rows = by_agent.get(queue, {}).values()
            completed.add_metric([queue], sum(row.get("completed", 0) for row in rows))
            talk.add_metric([queue], sum(row.get("talk_s", 0.0) for row in rows))
        yield completed
        yield talk

    def _queue_live(self) -> Iterator[Metric]:
        waiting = GaugeMetricFamily(
            "hotline_queue_waiting_callers", "Callers waiting now", labels=["queue"]
        )
        longest = GaugeMetricFamily(
            "hotline_queue_longest_wait_seconds", "Longest wait now", labels=["queue"]
        )
        window_labels = ["queue", "window"]
        level = GaugeMetricFamily(
            "hotline_queue_service_level_percent",
            "Answered within T / (answered + abandoned after S), in percent",
            labels=window_labels,
        )
        answered = GaugeMetricFamily(
            "hotline_queue_answered_in_window",
            "Entries answered in the window (today, last 15 or 60 minutes)",
            labels=window_labels,
        )
        abandoned = GaugeMetricFamily(
            "hotline_queue_abandoned_in_window",
            "Entries abandoned in the window (today, last 15 or 60 minutes)",
            labels=window_labels,
        )
        asa = GaugeMetricFamily(
            "hotline_queue_average_speed_of_answer_seconds",
            "Mean wait of the entries answered in the window",
            labels=window_labels,
        )
        board = self._s.board
        for queue in [*board["queues"], board["all"]]:
            name = queue["queue"]
            waiting.add_metric([name], queue["waiting_count"])
            longest.add_metric([name], queue["longest_wait_s"])
            for window, figures in queue["service_level"].items():
                answered.add_metric([name, window], figures["answered"])
                abandoned.add_metric([name, window], figures["abandoned"])
                if figures["sl"] is not None:
                    level.add_metric([name, window], figures["sl"])
                if figures["asa_s"] is not None:
                    asa.add_metric([name, window], figures["asa_s"])
        yield from (waiting, longest, level, answered, abandoned, asa)

    def _agents(self) -> Iterator[Metric]:
        state = GaugeMetricFamily(
            "hotline_agent_state",
            "1 for the agent's state now, 0 for the others",
            labels=["agent", "state"],
        )
        since = GaugeMetricFamily(
            "hotline_agent_state_since_timestamp_seconds",
            "When the agent's state began",
            labels=["agent"],
        )
        paused = GaugeMetricFamily(
            "hotline_agent_paused",
            "1 if the agent is paused (also while finishing a call), with the reason",
            labels=["agent", "reason"],
        )
        paused_since = GaugeMetricFamily(
            "hotline_agent_paused_since_timestamp_seconds",
            "When the agent's pause began (paused agents only)",
            labels=["agent"],
        )
        answered = GaugeMetricFamily(
            "hotline_agent_answered_today",
            "Queue entries the agent answered since midnight in HOTLINE_TIMEZONE",
            labels=["agent"],
        )
        taken = GaugeMetricFamily(
            "hotline_agent_calls_taken",
            "Asterisk's CallsTaken (since the member was added), which fewestcalls compares",
            labels=["agent"],
        )
        member = GaugeMetricFamily(
            "hotline_agent_queue_member",
            "1 for each queue the agent is logged in to",
            labels=["agent", "queue"],
        )
        for agent in self._s.board["agents"]:
            name = agent["name"]
            states = AGENT_STATES
            if agent["status"] and agent["status"] not in states:
                states = (*states, agent["status"])  # a state this code does not know yet
            for known in states:
                state.add_metric([name, known], int(agent["status"] == known))
            if agent["since"]:
                since.add_metric([name], agent["since"])
            reason = agent["paused_reason"] if agent["paused"] else ""
            paused.add_metric([name, reason], int(agent["paused"]))
            if agent["paused"] and agent["paused_since"]:
                paused_since.add_metric([name], agent["paused_since"])
            answered.add_metric([name], agent["answered_today"])
            taken.add_metric([name], agent["calls_taken"])
            for queue in agent["queues"]:
                member.add_metric([name, queue], 1)
        yield from (state, since, paused, paused_since, answered, taken, member)

    def _agent_counters(self) -> Iterator[Metric]:
        families = {
            "answered": ("hotline_agent_answered", "Queue entries the agent answered"),
            "completed": (
                "hotline_agent_completed",
                "Answered entries whose talk ended (AgentComplete)",
            ),
            "talk_s": (
                "hotline_agent_talk_seconds",
                "Talk time of the agent's completed entries (AgentComplete's TalkTime)",
            ),
            "ring_no_answer": (
                "hotline_agent_ring_no_answer",
                "Rings the agent did not answer (AgentRingNoAnswer)",
            ),
        }
        for key, (name, doc) in families.items():
            family = CounterMetricFamily(name, doc, labels=["agent", "queue"])
            for queue, agents in sorted(self._s.agent_counters.items()):
                for agent, row in sorted(agents.items()):
                    family.add_metric([agent, queue], row.get(key, 0))
            yield family

    def _owed_and_tracker(self) -> Iterator[Metric]:
        yield GaugeMetricFamily(
            "hotline_service_level_goal_percent",
            "The service level the hotline aims at (HOTLINE_SL_GOAL_PCT)",
            value=self._s.board["goal_pct"],
        )
        yield GaugeMetricFamily(
            "hotline_service_level_threshold_seconds",
            "T: a caller answered within it counts as answered in time",
            value=self._s.board["threshold_s"],
        )
        for key, doc in (
            ("owed", "Tickets owed for UINs callers heard, not yet created in the CRM"),
            ("set_aside", "Owed tickets the CRM refused for good, kept for a person"),
        ):
            if key in self._s.owed:
                name = "hotline_owed_tickets" + ("_set_aside" if key == "set_aside" else "")
                yield GaugeMetricFamily(name, doc, value=self._s.owed[key])
        seen = self._s.board["tracker_seen_at"]
        if seen is not None:
            yield GaugeMetricFamily(
                "hotline_tracker_last_write_timestamp_seconds",
                "When the tracker last wrote the live state",
                value=seen,
            )
