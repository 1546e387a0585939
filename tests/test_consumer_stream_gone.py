"""A reader of the fact stream survives the stream's key being deleted (or Redis flushed)."""

from __future__ import annotations

import asyncio
import secrets
from datetime import UTC, datetime

from redis.asyncio import Redis

from core.bus import FactBus
from core.consumer import FactConsumer
from core.facts import CallFact, CallQueued
from core.keys import RedisKeys
from tests.conftest import REDIS_TEST_URL


def _queued(n: int) -> CallQueued:
    return CallQueued(linkedid=f"1795400000.{n}", queue="hotline", position=1, at=datetime.now(UTC))


async def test_the_stream_deleted_under_a_blocked_reader_is_made_again() -> None:
    redis = Redis.from_url(REDIS_TEST_URL)
    keys = RedisKeys(f"test-{secrets.token_hex(4)}")
    stream = keys.facts
    seen: list[CallFact] = []
    arrived = asyncio.Event()

    async def handle(facts: list[CallFact]) -> None:
        seen.extend(facts)
        arrived.set()

    async def until_seen(count: int) -> None:
        async with asyncio.timeout(5):
            while len(seen) < count:
                arrived.clear()
                await arrived.wait()

    consumer = FactConsumer(redis, keys, handle, group="recorder", consumer="one")
    bus = FactBus(redis, keys)
    stop = asyncio.Event()
    task = asyncio.create_task(consumer.run(stop, block_ms=300))
    try:
        await bus.publish(_queued(1))
        await until_seen(1)
        await redis.delete(stream)  # the reader is blocked on it: "UNBLOCKED ... no longer exists"
        await asyncio.sleep(0.5)
        await redis.delete(stream)  # and once more, between reads or blocked: the same
        await asyncio.sleep(0.5)
        await bus.publish(_queued(2))
        await until_seen(2)
        assert [f.linkedid for f in seen] == ["1795400000.1", "1795400000.2"]
        assert consumer.stats.groups_recreated >= 1
        assert not task.done()
    finally:
        stop.set()
        await asyncio.wait_for(task, 5)
        await redis.delete(stream)
        await redis.aclose()
