"""Reading the live state the tracker keeps in Redis (see `live`): for the supervisor API.

Live service level is computed from each queue's outcomes of the last day (`done`):
today (since midnight in the hotline's time zone), and the rolling 15 and 60 minutes.
"""

from __future__ import annotations

import json
from datetime import datetime, tzinfo
from typing import Any

from redis.asyncio import Redis

from core.keys import RedisKeys
from core.service_level import (
    ALL_QUEUES,
    DEFAULT_SHORT_ABANDON_S,
    DEFAULT_THRESHOLD_S,
    EntryOutcome,
    service_level,
)

WINDOWS_S = {"last_15m": 15 * 60, "last_60m": 60 * 60}


def _text(value: bytes | str | None) -> str:
    return value.decode() if isinstance(value, bytes) else (value or "")


async def queue_names(redis: Redis, keys: RedisKeys) -> list[str]:
    return sorted(_text(name) for name in await redis.smembers(keys.live + "queues"))


def _entry(row: dict[str, Any]) -> EntryOutcome:
    """An outcome the tracker wrote to a queue's `done` set (only answered or abandoned)."""
    return EntryOutcome(row["queue"], row["outcome"], row["wait_s"], row["wait_whole_s"])


async def read_queues(
    redis: Redis,
    keys: RedisKeys,
    now: float,
    tz: tzinfo,
    threshold_s: int = DEFAULT_THRESHOLD_S,
    short_abandon_s: int = DEFAULT_SHORT_ABANDON_S,
) -> dict[str, Any]:
    """Waiting callers, longest wait and live service level per queue and overall."""
    prefix = keys.live
    names = await queue_names(redis, keys)
    pipe = redis.pipeline(transaction=False)
    for name in names:
        pipe.hvals(f"{prefix}queue:{name}:waiting")
        pipe.zrangebyscore(f"{prefix}queue:{name}:done", now - 24 * 3600 - 3600, "+inf")
    replies = await pipe.execute() if names else []
    midnight = datetime.fromtimestamp(now, tz).replace(hour=0, minute=0, second=0, microsecond=0)
    since = {"today": midnight.timestamp()} | {k: now - s for k, s in WINDOWS_S.items()}
    done_rows: list[dict[str, Any]] = []
    queues: dict[str, Any] = {}
    for i, name in enumerate(names):
        waiting = sorted(
            (json.loads(raw) for raw in replies[2 * i]),
            key=lambda r: (r["joined_at"], r["position"]),
        )
        for position, row in enumerate(waiting, 1):
            row["position"] = position  # Asterisk's order: by join (equal priorities)
            row["wait_s"] = round(max(now - row["joined_at"], 0.0), 3)
        done_rows += [json.loads(raw) for raw in replies[2 * i + 1]]
        queues[name] = {
            "queue": name,
            "waiting": waiting,
            "waiting_count": len(waiting),
            "longest_wait_s": max((row["wait_s"] for row in waiting), default=0.0),
        }
    figures = {
        window: service_level(
            [_entry(row) for row in done_rows if row["at"] >= start], threshold_s, short_abandon_s
        )
        for window, start in since.items()
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
    heartbeat = _text(await redis.get(prefix + "tracker"))
    return {
        "at": now,
        "tracker_seen_at": float(heartbeat) if heartbeat else None,
        "queues": list(queues.values()),
        "all": overall,
    }


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
                "calls_today": int(fields.get("calls_today") or 0),
                "linkedid": fields.get("linkedid", ""),
                "since": float(fields.get("since") or 0.0),
                "queues": [q for q in fields.get("queues", "").split(",") if q],
            }
        )
    return agents


async def read_counters(redis: Redis, keys: RedisKeys) -> dict[str, dict[str, int]]:
    prefix = keys.live
    names = await queue_names(redis, keys)
    pipe = redis.pipeline(transaction=False)
    for name in names:
        pipe.hgetall(f"{prefix}queue:{name}:counters")
    result = {}
    for name, raw in zip(names, await pipe.execute() if names else [], strict=True):
        result[name] = {_text(k): int(v) for k, v in raw.items()}
    return result
