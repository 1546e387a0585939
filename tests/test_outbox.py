"""Facts wait in a bounded outbox while Redis is down and go out in order when it returns."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from core.bus import FactBus, FactOutbox
from core.facts import CallQueued
from core.keys import RedisKeys
from tests.conftest import REDIS_TEST_PORT, REDIS_TEST_URL
from tests.support import TcpProxy

AT = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
REDIS_DB = int(REDIS_TEST_URL.rsplit("/", 1)[1])


def fact(i: int) -> CallQueued:
    return CallQueued(linkedid=f"1795311765.{i}", queue="hotline", position=1, at=AT)


async def _run_outage(capacity: int, facts_during_outage: int) -> tuple[FactOutbox, list[str]]:
    keys = RedisKeys(f"test-outbox-{uuid.uuid4().hex[:8]}")
    stream = keys.facts
    proxy = TcpProxy("127.0.0.1", REDIS_TEST_PORT)
    await proxy.start()
    # No retries inside the client: riding out the outage is the outbox's job.
    through_proxy = Redis(
        host="127.0.0.1",
        port=proxy.port,
        db=REDIS_DB,
        socket_timeout=0.5,
        socket_connect_timeout=0.5,
        retry=Retry(NoBackoff(), 0),
    )
    direct = Redis.from_url(REDIS_TEST_URL)
    outbox = FactOutbox(FactBus(through_proxy, keys), capacity=capacity, retry_s=0.05)
    stop = asyncio.Event()
    runner = asyncio.create_task(outbox.run(stop))
    try:
        outbox.put(fact(0))
        await outbox.drained(5)
        await proxy.cut()
        for i in range(1, facts_during_outage + 1):
            outbox.put(fact(i))
        await asyncio.sleep(0.3)  # the outbox tries, fails, and keeps the facts
        assert outbox.redis_down
        waiting = len(outbox)
        await proxy.start()  # Redis is back, on the same address
        await outbox.drained(10)
        assert not outbox.redis_down
        entries = await direct.xrange(stream)
        linkedids = [CallQueued.model_validate_json(f[b"fact"]).linkedid for _, f in entries]
        assert waiting == min(capacity, facts_during_outage)
        return outbox, linkedids
    finally:
        stop.set()
        await asyncio.wait_for(runner, 5)
        await direct.delete(stream)
        await direct.aclose()
        await through_proxy.aclose()
        await proxy.cut()


async def test_outage_then_everything_in_order() -> None:
    outbox, linkedids = await _run_outage(capacity=1000, facts_during_outage=30)
    assert linkedids == [f"1795311765.{i}" for i in range(31)]
    assert outbox.overflowed == 0 and outbox.sent == 31


async def test_overflow_drops_the_oldest_and_counts(caplog) -> None:  # type: ignore[no-untyped-def]
    outbox, linkedids = await _run_outage(capacity=10, facts_during_outage=15)
    assert outbox.overflowed == 5
    assert linkedids == ["1795311765.0"] + [f"1795311765.{i}" for i in range(6, 16)]
    assert "fact outbox full" in caplog.text
