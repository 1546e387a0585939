"""The Redis bus: call facts go onto the install's stream `<prefix>:facts`, bounded in length,
through an in-memory outbox that rides out a Redis outage."""

from __future__ import annotations

import asyncio
import logging
from collections import deque

from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from core.aio import wait_any
from core.facts import CallFact, dump_fact, load_fact
from core.keys import RedisKeys

log = logging.getLogger(__name__)


FACT_STREAM_MAXLEN = 1_000_000  # ~ a week of a 1,000-agent centre; trimmed approximately


class FactBus:
    """Publishes call facts onto the stream and reads them back (for the recorder)."""

    def __init__(self, redis: Redis, keys: RedisKeys, maxlen: int = FACT_STREAM_MAXLEN) -> None:
        self._redis = redis
        self.stream = keys.facts
        self._maxlen = maxlen

    async def publish(self, fact: CallFact) -> str:
        """Append one fact; returns its stream id."""
        entry_id = await self._redis.xadd(
            self.stream,
            {"kind": fact.kind, "key": fact.key, "fact": dump_fact(fact)},
            maxlen=self._maxlen,
            approximate=True,
        )
        return entry_id.decode() if isinstance(entry_id, bytes) else str(entry_id)

    async def publish_many(self, facts: list[CallFact]) -> None:
        """Append facts in order in one round trip (a pipeline, not a transaction)."""
        async with self._redis.pipeline(transaction=False) as pipe:
            for fact in facts:
                pipe.xadd(
                    self.stream,
                    {"kind": fact.kind, "key": fact.key, "fact": dump_fact(fact)},
                    maxlen=self._maxlen,
                    approximate=True,
                )
            await pipe.execute()

    async def read_all(self, count: int = 1000) -> list[CallFact]:
        """Every fact on the stream, oldest first (for tests and replays)."""
        entries = await self._redis.xrange(self.stream, count=count)
        return [
            load_fact(fields[b"fact"] if b"fact" in fields else fields["fact"])
            for _id, fields in entries
        ]


class FactOutbox:
    """Facts wait here while Redis is unreachable and go out in order when it returns.

    `put` never blocks the caller (the AMI reader must keep reading). The outbox is
    bounded: past `capacity` the oldest fact is dropped, counted in `overflowed` and logged
    as an error, because a lost fact is a call the CRM will not see whole.
    """

    def __init__(
        self,
        bus: FactBus,
        capacity: int = 100_000,
        retry_s: float = 0.5,
        batch: int = 500,
        linger_s: float = 0.005,
    ) -> None:
        self._bus = bus
        # Facts of one burst (a call's answer touches several) go out in one pipeline.
        self._linger_s = linger_s
        self._pending: deque[CallFact] = deque()
        self._capacity = capacity
        self._retry_s = retry_s
        self._batch = batch
        self._wakeup = asyncio.Event()
        self._drained = asyncio.Event()
        self._drained.set()
        self.sent = 0
        self.overflowed = 0
        self.redis_down = False

    def __len__(self) -> int:
        return len(self._pending)

    def put(self, fact: CallFact) -> None:
        if len(self._pending) >= self._capacity:
            self._pending.popleft()
            self.overflowed += 1
            log.error(
                "fact outbox full (%d): dropped the oldest fact; %d dropped so far",
                self._capacity,
                self.overflowed,
            )
        self._pending.append(fact)
        self._drained.clear()
        self._wakeup.set()

    async def run(self, stop: asyncio.Event) -> None:
        """Send until `stop` is set (and then whatever is still waiting, if Redis answers)."""
        while True:
            if not self._pending:
                self._drained.set()
                if stop.is_set():
                    return
                self._wakeup.clear()
                await wait_any(self._wakeup, stop)
                if self._linger_s and not stop.is_set():
                    await wait_any(stop, timeout_s=self._linger_s)
                continue
            batch = [self._pending[i] for i in range(min(self._batch, len(self._pending)))]
            try:
                await self._bus.publish_many(batch)
            except (RedisConnectionError, RedisTimeoutError, OSError) as exc:
                if not self.redis_down:
                    log.warning("Redis unreachable, facts wait in the outbox: %s", exc)
                self.redis_down = True
                if stop.is_set():
                    return
                await wait_any(stop, timeout_s=self._retry_s)
                continue
            if self.redis_down:
                log.warning("Redis is back: sending %d waiting facts", len(self._pending))
            self.redis_down = False
            for _ in batch:  # new facts may have been appended meanwhile: pop only these
                self._pending.popleft()
            self.sent += len(batch)

    async def drained(self, timeout_s: float) -> None:
        """Wait until every fact put so far has been sent (TimeoutError otherwise)."""
        await asyncio.wait_for(self._drained.wait(), timeout_s)
