"""Screen pops do not wait for the database: `hotline tracker`'s readers of the fact
stream, with the recorder's database unreachable or held by a lock."""

from __future__ import annotations

import asyncio
import json
import socket
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime

import asyncpg
import pytest
from redis.asyncio import Redis
from redis.asyncio.client import PubSub
from sqlalchemy import select

from asterisksim import SimConfig, SimulatedAsterisk
from core.bus import FactBus
from core.consumer import FactConsumer
from core.facts import CallAnswered, CallRinging, CallStarted, CallTicketed
from core.settings import AmiSettings, DatabaseSettings, Settings
from crm.db import make_engine
from crm.models import Call
from crm.transfers.screenpops import ScreenPops
from hotline.bootstrap.tracker import run_tracker
from tests.conftest import TEST_KEYS, _empty, redis_settings
from tests.transfers.conftest import TRANSFER_REDIS_URL

LINKEDID = "1795310000.42"
AT = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
POP_WITHIN_S = 1.0


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]  # nobody listens once it is closed


@pytest.fixture
async def pbx() -> AsyncIterator[SimulatedAsterisk]:
    async with SimulatedAsterisk(SimConfig(timestampevents=True)) as sim:
        yield sim


def _settings(pbx: SimulatedAsterisk, database_url: str) -> Settings:
    ami = AmiSettings(host=pbx.host, port=pbx.port, user="hotline", secret="hotline")
    return Settings(
        ami=ami, db=DatabaseSettings(url=database_url), redis=redis_settings(TRANSFER_REDIS_URL)
    )


@asynccontextmanager
async def _tracker(settings: Settings, redis: Redis) -> AsyncIterator[None]:
    """`hotline tracker` (with the recorder) running, its readers of the stream in place."""
    stop = asyncio.Event()
    task = asyncio.create_task(run_tracker(settings, stop, with_recorder=True))
    try:
        for _ in range(500):  # test only: the groups are made as the readers start
            if (
                await redis.exists(TEST_KEYS.facts)
                and len(await redis.xinfo_groups(TEST_KEYS.facts)) >= 2
            ):
                break
            await asyncio.sleep(0.01)
        yield
    finally:
        stop.set()
        await asyncio.wait_for(task, 15)


async def _pop_after_ringing(redis: Redis) -> tuple[dict, float]:
    """Put a ticketed call ringing agent1 on the stream; agent1's screen pop and how long
    it took to come."""
    pubsub = redis.pubsub()
    await pubsub.subscribe(TEST_KEYS.agent_events("agent1"))
    await pubsub.get_message(timeout=1)  # the subscription's confirmation
    bus = FactBus(redis, TEST_KEYS)
    try:
        started = time.monotonic()
        await bus.publish(CallTicketed(linkedid=LINKEDID, uin="00004242", ticket_id=42))
        await bus.publish(CallRinging(linkedid=LINKEDID, queue="hotline", agent="agent1", at=AT))
        message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=POP_WITHIN_S)
        took_s = time.monotonic() - started
    finally:
        await pubsub.aclose()
    assert message is not None, f"no screen pop within {POP_WITHIN_S} s"
    return json.loads(message["data"]), took_s


async def test_a_ringing_agent_gets_the_screen_pop_with_the_database_down(
    redis: Redis, pbx: SimulatedAsterisk
) -> None:
    down = f"postgresql+asyncpg://postgres@127.0.0.1:{_closed_port()}/hotline"
    async with _tracker(_settings(pbx, down), redis):
        pop, took_s = await _pop_after_ringing(redis)
    assert took_s < POP_WITHIN_S
    assert (pop["event"], pop["linkedid"], pop["uin"], pop["ticket_id"], pop["queue"]) == (
        "screen-pop",
        LINKEDID,
        "00004242",
        "42",
        "hotline",
    )


async def test_a_ringing_agent_gets_the_screen_pop_while_a_lock_holds_the_recorder(
    redis: Redis, pbx: SimulatedAsterisk, postgresql_url: str
) -> None:
    """A slow database (here a lock on `calls`): the screen pop comes at once, and the
    recorder writes the call once the lock is gone."""
    holder = await asyncpg.connect(postgresql_url.replace("postgresql+asyncpg", "postgresql"))
    engine = make_engine(postgresql_url)
    try:
        async with _tracker(_settings(pbx, postgresql_url), redis):
            lock = holder.transaction()
            await lock.start()
            await holder.execute("LOCK TABLE calls IN ACCESS EXCLUSIVE MODE")
            try:
                pop, took_s = await _pop_after_ringing(redis)
            finally:
                await lock.rollback()
            recorded = None
            for _ in range(200):  # the recorder's own schedule, once the lock is gone
                async with engine.connect() as conn:
                    recorded = (
                        await conn.execute(
                            select(Call.announced_uin).where(Call.linkedid == LINKEDID)
                        )
                    ).scalar_one_or_none()
                if recorded is not None:
                    break
                await asyncio.sleep(0.05)
    finally:
        await holder.close()
        await engine.dispose()
        await _empty(postgresql_url)
    assert took_s < POP_WITHIN_S and pop["uin"] == "00004242"
    assert recorded == "00004242"


@asynccontextmanager
async def _agent1_listening(
    pops_redis: Redis, redis: Redis
) -> AsyncIterator[tuple[ScreenPops, FactConsumer, PubSub]]:
    """Screen pops on `pops_redis` with their stream reader's group made, and agent1's
    event channel subscribed on `redis`: (pops, reader, pubsub)."""
    pops = ScreenPops.build(pops_redis, TEST_KEYS)
    reader = pops.consumer()
    await reader.ensure_group()
    pubsub = redis.pubsub()
    await pubsub.subscribe(TEST_KEYS.agent_events("agent1"))
    await pubsub.get_message(timeout=1)
    try:
        yield pops, reader, pubsub
    finally:
        await pubsub.aclose()


async def test_a_fact_delivered_twice_pops_once(redis: Redis) -> None:
    """As in the recorder, a fact whose key was handled changes nothing the second time
    (a restarted tracker tells again what it finds)."""
    bus = FactBus(redis, TEST_KEYS)
    ringing = CallRinging(linkedid=LINKEDID, queue="hotline", agent="agent1", at=AT)
    async with _agent1_listening(redis, redis) as (_pops, reader, pubsub):
        await bus.publish(CallTicketed(linkedid=LINKEDID, uin="00004242"))
        await bus.publish(ringing)
        assert await reader.process(block_ms=None) == 2
        await bus.publish(ringing)
        assert await reader.process(block_ms=None) == 1
        first = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1)
        again = await pubsub.get_message(ignore_subscribe_messages=True, timeout=0.3)
    assert first is not None and json.loads(first["data"])["uin"] == "00004242"
    assert again is None


class _CountingRedis(Redis):
    """The same server; counts the transactions (MULTI ... EXEC) it is asked for."""

    transactions = 0

    def pipeline(self, transaction: bool = True, shard_hint: str | None = None):  # type: ignore[no-untyped-def]
        if transaction:
            _CountingRedis.transactions += 1
        return super().pipeline(transaction, shard_hint)


async def test_a_reads_context_fields_go_out_together_before_a_pop_reads_them(
    redis: Redis,
) -> None:
    """The fields `started`, `ticketed` and `answered` set are written in one transaction
    for the whole read (one per fact before: five commands each), flushed before a ringing
    agent's pop reads the context, so the pop still shows what came before it."""
    counting = _CountingRedis(connection_pool=redis.connection_pool)
    _CountingRedis.transactions = 0
    other = "1795310000.43"
    facts = [
        CallStarted(
            linkedid=LINKEDID, channel="PJSIP/t-1", caller_num="79001", caller_name="", at=AT
        ),
        CallTicketed(linkedid=LINKEDID, uin="00004242"),
        CallRinging(linkedid=LINKEDID, queue="hotline", agent="agent1", at=AT),
        CallAnswered(linkedid=LINKEDID, queue="hotline", agent="agent1", wait_s=3.0, at=AT),
        CallStarted(
            linkedid=other, channel="PJSIP/t-2", caller_num="79002", caller_name="Ян", at=AT
        ),
        CallTicketed(linkedid=other, uin="00004243", caller_num="", caller_name=""),
        CallAnswered(linkedid=other, queue="hotline", agent="agent2", wait_s=1.0, at=AT),
    ]
    async with _agent1_listening(counting, redis) as (pops, reader, pubsub):
        await FactBus(redis, TEST_KEYS).publish_many(facts)  # type: ignore[arg-type]
        assert await reader.process(block_ms=None) == len(facts)
        pop = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1)
    assert _CountingRedis.transactions == 2  # before the pop, and at the end of the read
    assert pop is not None and json.loads(pop["data"])["uin"] == "00004242"
    first_ctx, second_ctx = await pops.store.get(LINKEDID), await pops.store.get(other)
    assert first_ctx is not None and second_ctx is not None
    assert (first_ctx.uin, first_ctx.caller_num, first_ctx.agent) == ("00004242", "79001", "agent1")
    # an empty value told later never erases a known one
    assert (second_ctx.uin, second_ctx.caller_num, second_ctx.caller_name, second_ctx.agent) == (
        "00004243",
        "79002",
        "Ян",
        "agent2",
    )
