"""Today's live figures kept by the wallboard's readings instead of recounted on each one.

A busy day leaves ten thousand outcomes or more in the queues' `done` sets; counting them
all on every change of the live state cost the wallboard a third of a second per reading
(`bench/wallboard.py`). `TodayTally.read` fetches only the last hour (which the rolling
windows need anyway) and adds to today's `QueueFigures` the outcomes it has not counted
yet. It stays exact by checking, per queue, its count against Redis's own (`ZCOUNT` since
midnight, in the same round trip): any difference (an outcome written late, the keys
expired with a dead tracker, the first reading, a new day) makes it count that queue
again from midnight. So the figures are always those of `service_level()` over today's
outcomes, as the stateless `read_queues` gives them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import tzinfo
from typing import Any

from redis.asyncio import Redis

from core.keys import RedisKeys
from core.service_level import QueueFigures
from crm.supervisor.live import (
    LiveRead,
    entry_outcome,
    heartbeat_at,
    json_rows,
    queue_names,
    waiting_rows,
    window_starts,
)


@dataclass
class _QueueTally:
    figures: QueueFigures
    agents: dict[str, int] = field(default_factory=dict)
    counted: int = 0
    recent: set[bytes | str] = field(default_factory=set)  # counted and still in the last hour

    def add(self, rows: list[dict[str, Any]]) -> None:
        for row in rows:
            self.figures.add(entry_outcome(row))
            if row["outcome"] == "answered" and row.get("agent"):
                self.agents[row["agent"]] = self.agents.get(row["agent"], 0) + 1
        self.counted += len(rows)


class TodayTally:
    """Today's figures per queue, brought up to date by each `read` (one reader at a time:
    the wallboard feed's lock)."""

    def __init__(self, threshold_s: int, short_abandon_s: int) -> None:
        self.threshold_s = threshold_s
        self.short_abandon_s = short_abandon_s
        self._midnight: float | None = None
        self._queues: dict[str, _QueueTally] = {}
        self.recounts = 0  # queues counted again from midnight

    def _new(self) -> _QueueTally:
        return _QueueTally(QueueFigures(self.threshold_s, self.short_abandon_s))

    async def read(self, redis: Redis, keys: RedisKeys, now: float, tz: tzinfo) -> LiveRead:
        """What `read_live` reads, `done` being the last hour's outcomes, with `today` and
        `answered_today` from the tally."""
        starts = window_starts(now, tz)
        midnight, hour_ago = starts["today"], starts["last_60m"]
        if midnight != self._midnight:
            self._midnight, self._queues = midnight, {}
        prefix = keys.live
        names = await queue_names(redis, keys)
        # One MULTI: the count since midnight is of the very rows the range returned.
        pipe = redis.pipeline(transaction=True)
        for name in names:
            pipe.hvals(f"{prefix}queue:{name}:waiting")
            pipe.zrangebyscore(f"{prefix}queue:{name}:done", hour_ago, "+inf", withscores=True)
            pipe.zcount(f"{prefix}queue:{name}:done", midnight, "+inf")
        pipe.get(prefix + "tracker")
        *replies, heartbeat = await pipe.execute()
        waiting: dict[str, list[dict[str, Any]]] = {}
        done: list[dict[str, Any]] = []
        behind: list[str] = []
        for i, name in enumerate(names):
            waiting[name] = waiting_rows(replies[3 * i], now)
            recent = replies[3 * i + 1]
            rows = json_rows([member for member, _ in recent])
            done += rows
            tally = self._queues.setdefault(name, self._new())
            tally.add(
                [
                    row
                    for (member, score), row in zip(recent, rows, strict=True)
                    if score >= midnight and member not in tally.recent
                ]
            )
            tally.recent = {member for member, score in recent if score >= midnight}
            if tally.counted != replies[3 * i + 2]:
                behind.append(name)
        for name in set(self._queues) - set(names):
            del self._queues[name]  # its keys are gone
        if behind:
            await self._recount(redis, behind, midnight, hour_ago, prefix)
        agents: dict[str, int] = {}
        for tally in self._queues.values():
            for agent, n in tally.agents.items():
                agents[agent] = agents.get(agent, 0) + n
        return LiveRead(
            now,
            waiting,
            done,
            heartbeat_at(heartbeat),
            today={name: tally.figures for name, tally in self._queues.items()},
            answered_today=agents,
        )

    async def _recount(
        self, redis: Redis, names: list[str], midnight: float, hour_ago: float, prefix: str
    ) -> None:
        pipe = redis.pipeline(transaction=False)
        for name in names:
            pipe.zrangebyscore(f"{prefix}queue:{name}:done", midnight, "+inf", withscores=True)
        for name, members in zip(names, await pipe.execute(), strict=True):
            tally = self._queues[name] = self._new()
            tally.add(json_rows([member for member, _ in members]))
            tally.recent = {member for member, score in members if score >= hour_ago}
            self.recounts += 1
