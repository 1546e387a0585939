"""Reading the live state the tracker keeps in Redis (see `live`): for the supervisor API.

Live service level is computed from each queue's outcomes of the last day (`done`):
today (since midnight in the hotline's time zone), and the rolling 15 and 60 minutes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Any

from redis.asyncio import Redis

from core.keys import RedisKeys
from core.service_level import (
    ALL_QUEUES,
    DEFAULT_SHORT_ABANDON_S,
    DEFAULT_THRESHOLD_S,
    EntryOutcome,
    QueueFigures,
    service_level,
)

WINDOWS_S = {"last_15m": 15 * 60, "last_60m": 60 * 60}


def _text(value: bytes | str | None) -> str:
    return value.decode() if isinstance(value, bytes) else (value or "")


async def queue_names(redis: Redis, keys: RedisKeys) -> list[str]:
    return sorted(_text(name) for name in await redis.smembers(keys.live + "queues"))


def entry_outcome(row: dict[str, Any]) -> EntryOutcome:
    """An outcome the tracker wrote to a queue's `done` set (only answered or abandoned)."""
    return EntryOutcome(row["queue"], row["outcome"], row["wait_s"], row["wait_whole_s"])


@dataclass
class LiveRead:
    """One read of the queues' live keys: what `queue_figures` and the wallboard count."""

    now: float
    waiting: dict[str, list[dict[str, Any]]]  # per queue, in Asterisk's order, with waits
    done: list[dict[str, Any]]  # the outcomes the windows count, every queue
    tracker_seen_at: float | None
    # Today's figures per queue and calls answered per agent, when kept by a tally
    # (`crm.supervisor.tally`) instead of counted from `done`.
    today: dict[str, QueueFigures] | None = None
    answered_today: dict[str, int] | None = None


async def read_live(redis: Redis, keys: RedisKeys, now: float, tz: tzinfo) -> LiveRead:
    """The waiting callers and the outcomes since the earliest window's start (midnight,
    or an hour ago just after it), of every queue, in one round trip."""
    since = min(window_starts(now, tz).values())
    prefix = keys.live
    names = await queue_names(redis, keys)
    pipe = redis.pipeline(transaction=False)
    for name in names:
        pipe.hvals(f"{prefix}queue:{name}:waiting")
        pipe.zrangebyscore(f"{prefix}queue:{name}:done", since, "+inf")
    pipe.get(prefix + "tracker")
    *replies, heartbeat = await pipe.execute()
    waiting: dict[str, list[dict[str, Any]]] = {}
    done: list[dict[str, Any]] = []
    for i, name in enumerate(names):
        waiting[name] = waiting_rows(replies[2 * i], now)
        done += json_rows(replies[2 * i + 1])
    return LiveRead(now, waiting, done, heartbeat_at(heartbeat))


def heartbeat_at(value: bytes | str | None) -> float | None:
    seen = _text(value)
    return float(seen) if seen else None


def waiting_rows(raws: list[bytes | str], now: float) -> list[dict[str, Any]]:
    """A queue's waiting callers in Asterisk's order, each with its wait so far."""
    rows = sorted(json_rows(raws), key=lambda r: (r["joined_at"], r["position"]))
    for position, row in enumerate(rows, 1):
        row["position"] = position  # Asterisk's order: by join (equal priorities)
        row["wait_s"] = round(max(now - row["joined_at"], 0.0), 3)
    return rows


def json_rows(raws: list[bytes | str]) -> list[dict[str, Any]]:
    """JSON objects parsed as one array: a busy day's thousands of outcomes in one call
    (5x faster than one `json.loads` each)."""
    if not raws:
        return []
    if isinstance(raws[0], bytes):
        return json.loads(b"[" + b",".join(raws) + b"]")  # type: ignore[arg-type]
    return json.loads("[" + ",".join(raws) + "]")  # type: ignore[arg-type]


def window_starts(now: float, tz: tzinfo) -> dict[str, float]:
    """Where each live window begins: `today` at midnight in `tz`, then the rolling ones."""
    midnight = datetime.fromtimestamp(now, tz).replace(hour=0, minute=0, second=0, microsecond=0)
    return {"today": midnight.timestamp()} | {k: now - s for k, s in WINDOWS_S.items()}


def queue_figures(
    live: LiveRead,
    tz: tzinfo,
    threshold_s: int = DEFAULT_THRESHOLD_S,
    short_abandon_s: int = DEFAULT_SHORT_ABANDON_S,
) -> dict[str, Any]:
    """Waiting callers, longest wait and live service level per queue and overall.

    An outcome counts in a window when it happened in it (answered or abandoned at or
    after the window's start); the figures are `core.service_level`'s, as in the history."""
    queues: dict[str, Any] = {}
    for name, waiting in live.waiting.items():
        queues[name] = {
            "queue": name,
            "waiting": waiting,
            "waiting_count": len(waiting),
            "longest_wait_s": max((row["wait_s"] for row in waiting), default=0.0),
        }
    figures = {
        window: (
            _as_dicts(live.today, threshold_s, short_abandon_s)
            if window == "today" and live.today is not None
            else service_level(
                [entry_outcome(row) for row in live.done if row["at"] >= start],
                threshold_s,
                short_abandon_s,
            )
        )
        for window, start in window_starts(live.now, tz).items()
    }
    overall = {
        "queue": ALL_QUEUES,
        "waiting_count": sum(q["waiting_count"] for q in queues.values()),
        "longest_wait_s": max((q["longest_wait_s"] for q in queues.values()), default=0.0),
    }
    for name, queue in [*queues.items(), (ALL_QUEUES, overall)]:
        queue["service_level"] = {
            window: _brief(per_queue.get(name), threshold_s, short_abandon_s)
            for window, per_queue in figures.items()
        }
    return {
        "at": live.now,
        "tracker_seen_at": live.tracker_seen_at,
        "queues": list(queues.values()),
        "all": overall,
    }


async def read_queues(
    redis: Redis,
    keys: RedisKeys,
    now: float,
    tz: tzinfo,
    threshold_s: int = DEFAULT_THRESHOLD_S,
    short_abandon_s: int = DEFAULT_SHORT_ABANDON_S,
) -> dict[str, Any]:
    """`queue_figures` of a fresh read (`GET /api/queues/live`)."""
    live = await read_live(redis, keys, now, tz)
    return queue_figures(live, tz, threshold_s, short_abandon_s)


def _as_dicts(
    per_queue: dict[str, QueueFigures], threshold_s: int, short_abandon_s: int
) -> dict[str, dict[str, Any]]:
    """`service_level()`'s shape from figures counted elsewhere."""
    overall = QueueFigures(threshold_s, short_abandon_s)
    for figures in per_queue.values():
        overall.merge(figures)
    result = {queue: figures.as_dict() for queue, figures in sorted(per_queue.items())}
    result[ALL_QUEUES] = overall.as_dict()
    return result


def _brief(figures: dict[str, Any] | None, threshold_s: int, short_abandon_s: int) -> dict:
    if figures is None:
        figures = service_level([], threshold_s, short_abandon_s)[ALL_QUEUES]
    keys = (
        "threshold_s",
        "offered",
        "answered",
        "answered_within",
        "abandoned",
        "abandoned_short",
        "sl",
        "perf",
        "perf2",
        "asa_s",
        "abandon_rate",
        "answered_within_buckets",
    )
    return {key: figures[key] for key in keys}


async def read_agents(redis: Redis, keys: RedisKeys) -> list[dict[str, Any]]:
    prefix = keys.live
    names = sorted(_text(name) for name in await redis.smembers(prefix + "agents"))
    pipe = redis.pipeline(transaction=False)
    for name in names:
        pipe.hgetall(f"{prefix}agent:{name}")
    agents = []
    for name, raw in zip(names, await pipe.execute() if names else [], strict=True):
        if not raw:
            continue  # expired between the two reads
        fields = {_text(k): _text(v) for k, v in raw.items()}
        agents.append(
            {
                "name": name,
                "interface": fields.get("interface", ""),
                "status": fields.get("status", ""),
                "paused": fields.get("paused") == "1",
                "paused_reason": fields.get("paused_reason", ""),
                "paused_since": float(fields.get("paused_since") or 0.0),
                "calls_today": int(fields.get("calls_today") or 0),
                "calls_taken": int(fields.get("calls_taken") or 0),
                "linkedid": fields.get("linkedid", ""),
                "caller_num": fields.get("caller_num", ""),
                "caller_name": fields.get("caller_name", ""),
                "since": float(fields.get("since") or 0.0),
                "queues": [q for q in fields.get("queues", "").split(",") if q],
            }
        )
    return agents


async def _queue_hashes(redis: Redis, keys: RedisKeys, kind: str) -> dict[str, dict]:
    """Each queue's `queue:<name>:<kind>` hash of the live state, in one pipeline."""
    names = await queue_names(redis, keys)
    pipe = redis.pipeline(transaction=False)
    for name in names:
        pipe.hgetall(f"{keys.live}queue:{name}:{kind}")
    return dict(zip(names, await pipe.execute() if names else [], strict=True))


async def read_counters(redis: Redis, keys: RedisKeys) -> dict[str, dict[str, int]]:
    hashes = await _queue_hashes(redis, keys, "counters")
    return {name: {_text(k): int(v) for k, v in raw.items()} for name, raw in hashes.items()}


async def read_agent_counters(redis: Redis, keys: RedisKeys) -> dict[str, dict[str, dict]]:
    """Per queue and agent, the tracker's counters since it started (`AGENT_COUNTERS` of
    `callqueue.live`: answered, completed, talk_s, ring_no_answer)."""
    hashes = await _queue_hashes(redis, keys, "agents")
    return {
        name: {_text(agent): json.loads(row) for agent, row in raw.items()}
        for name, raw in hashes.items()
    }
