"""Call facts: one schema, stable keys, and the Redis stream they travel on."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from pydantic import ValidationError
from redis.asyncio import Redis

from core.bus import FactBus
from core.context.model import CallContext
from core.facts import (
    CallAnswered,
    CallQueued,
    CallStarted,
    CallTransferred,
    dump_fact,
    load_fact,
)
from core.keys import RedisKeys
from tests.conftest import REDIS_TEST_URL

KEYS = RedisKeys("test-facts-bus")

AT = datetime(2026, 11, 22, 9, 0, 5, 250_000, tzinfo=UTC)


def test_round_trip_and_discrimination() -> None:
    fact = CallTransferred(
        linkedid="1795311765.1",
        n=2,
        how="blind",
        from_agent="agent1",
        to="support",
        at=AT,
        context=CallContext(summary="Отчёт", org_inn="7707083893"),
    )
    loaded = load_fact(dump_fact(fact))
    assert loaded == fact and isinstance(loaded, CallTransferred)
    assert loaded.context is not None and loaded.context.summary == "Отчёт"


def test_a_transfer_fact_written_before_the_one_context_model_still_loads() -> None:
    """Facts already on a stream carry the context as the memo and the UIN only."""
    raw = (
        '{"linkedid": "1795311765.1", "kind": "transferred", "n": 1, "how": "blind",'
        ' "from_agent": "agent1", "to": "support", "context": {"summary": "Отчёт",'
        ' "caller_full_name": "", "org_inn": "7707083893", "uin": "00001234"},'
        ' "dialplan_context": "", "at": "2026-11-22T09:00:05.250000Z"}'
    )
    fact = load_fact(raw)
    assert isinstance(fact, CallTransferred) and fact.context is not None
    assert fact.context.memo() == {"summary": "Отчёт", "org_inn": "7707083893", "uin": "00001234"}
    assert (fact.context.count, fact.context.chain) == (0, [])
    without = load_fact(raw.split(', "context"')[0] + ', "at": "2026-11-22T09:00:05Z"}')
    assert isinstance(without, CallTransferred) and without.context is None


def test_keys_are_stable_and_distinguish_entries() -> None:
    first = CallQueued(linkedid="1.1", queue="hotline", position=1, entry=1, at=AT)
    again = CallQueued(linkedid="1.1", queue="hotline", position=1, entry=1, at=AT)
    reentry = CallQueued(linkedid="1.1", queue="support", position=1, entry=2, at=AT)
    assert first.key == again.key != reentry.key
    answered = CallAnswered(linkedid="1.1", queue="hotline", agent="a", wait_s=3.0, at=AT)
    assert answered.key == "1.1:answered:1"


def test_bad_facts_are_refused() -> None:
    with pytest.raises(ValidationError):
        load_fact('{"kind": "exploded", "linkedid": "1.1"}')
    with pytest.raises(ValidationError):
        load_fact(
            '{"kind": "transferred", "linkedid": "1.1", "n": 0, "how": "blind",'
            ' "to": "x", "at": "2026-11-22T09:00:00Z"}'
        )
    with pytest.raises(ValidationError):
        CallStarted(linkedid="", channel="x", at=AT)


@pytest.fixture
async def redis() -> AsyncIterator[Redis]:
    client = Redis.from_url(REDIS_TEST_URL)
    await client.delete(KEYS.facts)
    yield client
    await client.delete(KEYS.facts)
    await client.aclose()


async def test_bus_appends_in_order_and_bounds_the_stream(redis: Redis) -> None:
    bus = FactBus(redis, KEYS, maxlen=10)
    facts = [CallQueued(linkedid=f"1.{i}", queue="hotline", position=1, at=AT) for i in range(300)]
    for fact in facts:
        await bus.publish(fact)
    stored = await bus.read_all(count=1000)
    assert stored == facts[-len(stored) :]  # oldest trimmed first, order kept
    assert len(stored) < 300  # trimmed (approximately, in whole radix-tree nodes)
