"""The tracker's open calls kept in Redis, so that a restarted tracker closes or continues
them (its resync then finds each one alive in Asterisk, or ended while it was away).

One hash (`RedisKeys.open_calls`): linkedid -> the call's state as JSON. `LiveState`
writes the calls a batch of facts touched at each flush and removes the ended ones, and
rewrites the whole hash at each heartbeat; the TTL (a day) only clears what a tracker
that never came back left behind.

>>> call = CallState(linkedid="1.1", started_at=10.0, channels={"Local/100@x;2"})
>>> load_call(dump_call(call)) == call
True
"""

from __future__ import annotations

import json
import logging
from typing import Any

from redis.asyncio import Redis

from callqueue.calls import CallState, QueueEntry, Transfer
from core.keys import RedisKeys

log = logging.getLogger(__name__)

OPEN_CALLS_TTL_S = 24 * 3600


def _entry_data(entry: QueueEntry) -> dict[str, Any]:
    # vars(), not dataclasses.asdict: asdict deep-copies and is ~10x slower (the live
    # writer dumps every call a batch touched)
    data = dict(vars(entry))
    data["transfers"] = [vars(t) for t in entry.transfers]
    return data


def dump_call(call: CallState) -> str:
    data = dict(vars(call))
    data["channels"] = sorted(call.channels)
    data["caller_channels"] = sorted(call.caller_channels)
    data["entries"] = [_entry_data(e) for e in call.entries]
    data["transfers"] = [vars(t) for t in call.transfers]
    return json.dumps(data, ensure_ascii=False)


def _entry(data: dict[str, Any]) -> QueueEntry:
    data["transfers"] = [Transfer(**t) for t in data.get("transfers", [])]
    data["connect_location"] = tuple(data.get("connect_location") or ("", ""))
    return QueueEntry(**data)


def load_call(raw: str | bytes) -> CallState:
    data = json.loads(raw)
    data["channels"] = set(data.get("channels", []))
    data["caller_channels"] = set(data.get("caller_channels", []))
    data["entries"] = [_entry(e) for e in data.get("entries", [])]
    data["transfers"] = [Transfer(**t) for t in data.get("transfers", [])]
    return CallState(**data)


async def load_open_calls(redis: Redis, keys: RedisKeys) -> list[CallState]:
    """The open calls a tracker before this one left; an unreadable one is skipped."""
    calls = []
    for linkedid, raw in (await redis.hgetall(keys.open_calls)).items():
        try:
            calls.append(load_call(raw))
        except (ValueError, TypeError, KeyError) as exc:
            log.error("open call %r in Redis not readable, left out: %s", linkedid, exc)
    return calls
