"""The recorder's reading of the fact stream: one consumer of a group, one transaction per read.

The facts of one read are applied in one database transaction together with their keys
in `recorded_facts`, and acknowledged on the stream (one XACK) only after that commit: a
crash between the two re-delivers them, and the keys make the second delivery change
nothing. A fact whose key is already recorded, or that came earlier in the same read, is a
duplicate. When the batch's transaction meets another recorder's write (an
`IntegrityError`: the same call or fact written at the same moment) it is rolled back and
the batch is applied again one fact per transaction, so nothing is lost or doubled. An
entry that holds no readable fact goes to the dead letters and is acknowledged with the
rest.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from redis.asyncio import Redis
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.aio import wait_any
from core.consumer import READ_COUNT, FactConsumer
from core.facts import AGENT_FACTS, CallFact
from core.keys import RedisKeys
from crm.models import Call, RecordedFact, utcnow
from crm.recorder.agents import write_agent_fact
from crm.recorder.calls import lock_call, new_call
from crm.recorder.chunks import chunks
from crm.recorder.facts import write_fact
from crm.recorder.orphans import settle_orphans
from crm.recorder.prefetch import prefetch
from crm.recorder.stats import RecorderStats
from crm.service import TicketService
from crm.transfers.counting import fact_key
from crm.transfers.ledger import TransferLedger

log = logging.getLogger(__name__)

SETTLE_EVERY_S = 1.0  # how often the loop looks for orphan calls (they wait 120 s anyway)


class Recorder:
    """Reads facts as one consumer of a group and records them; see the module docstring."""

    def __init__(
        self,
        redis: Redis,
        keys: RedisKeys,
        sessions: async_sessionmaker[AsyncSession],
        tickets: TicketService,
        *,
        group: str = "recorder",
        consumer: str = "recorder-1",
        orphan_after_s: float = 120.0,
        clock: Callable[[], datetime] = utcnow,
        transfers: TransferLedger | None = None,
    ) -> None:
        self._redis = redis
        # Transfers are counted in the Redis call context (the one counter of every path).
        self.transfers = transfers or (
            TransferLedger.build(redis, keys) if redis is not None else None
        )
        self._sessions = sessions
        self._tickets = tickets
        self.stream, self.group, self.consumer = keys.facts, group, consumer
        self._orphan_after = timedelta(seconds=orphan_after_s)
        self._clock = clock
        self.stats = RecorderStats()
        # The stream's reading and acking is core's one pattern; an unreadable entry goes
        # to the dead letters (this group only: each fact goes there once).
        self._reader = FactConsumer(
            redis,
            keys,
            self.apply_many,
            group=group,
            consumer=consumer,
            count=READ_COUNT,
            dead_letters=True,
            stats=self.stats,
        )

    async def ensure_group(self) -> None:
        await self._reader.ensure_group()

    async def run(
        self,
        stop: asyncio.Event,
        block_ms: int = 1000,
        *,
        linger_s: float = 0.0,
        settle_every_s: float = SETTLE_EVERY_S,
    ) -> None:
        """Record until `stop` is set: first this consumer's unacknowledged facts, then new.

        `linger_s`: after a short read, wait that long so the next read (one transaction)
        carries more facts; the recorder is not on any caller's path, so a busy process
        (the demo) trades this latency for less work per fact."""
        await self.ensure_group()
        await self.process(pending=True)
        settled = -settle_every_s
        while not stop.is_set():
            handled = await self.process(block_ms=block_ms)
            if time.monotonic() - settled >= settle_every_s:
                await self.settle_orphans()
                settled = time.monotonic()
            if linger_s and 0 < handled < READ_COUNT:
                await wait_any(stop, timeout_s=linger_s)

    async def process(
        self, *, pending: bool = False, block_ms: int | None = None, count: int = READ_COUNT
    ) -> int:
        """Read and record one batch; returns how many entries were handled."""
        return await self._reader.process(pending=pending, block_ms=block_ms, count=count)

    async def apply(self, fact: CallFact) -> bool:
        """Write one fact; False when its key was recorded before (nothing changes)."""
        read = await self.transfers.read([fact]) if self.transfers is not None else None
        for attempt in (1, 2):
            try:
                async with self._sessions.begin() as session:
                    if read is not None:
                        read.attach(session)
                    key = fact_key(fact)
                    if await session.get(RecordedFact, key) is not None:
                        self.stats.duplicates += 1
                        return False
                    session.add(RecordedFact(key=key))
                    if isinstance(fact, AGENT_FACTS):
                        await write_agent_fact(session, fact)
                    else:
                        call = await lock_call(session, fact.linkedid)
                        await write_fact(session, call, fact, self.transfers)
                self.stats.applied += 1
                return True
            except IntegrityError:
                # Another recorder wrote the same call or key at the same moment: read again.
                if attempt == 2:
                    raise
        return False

    async def apply_many(self, facts: Sequence[CallFact]) -> int:
        """Write facts in one transaction, in order; returns how many were new.

        On an `IntegrityError` (another recorder wrote one of these calls or facts at the
        same moment) the transaction is rolled back and each fact is applied on its own.
        """
        if not facts:
            return 0
        try:
            applied, duplicates = await self._apply_batch(facts)
        except IntegrityError as exc:
            log.info("recorder: a batch of %d met another writer (%s); one by one", len(facts), exc)
            return sum([await self.apply(fact) for fact in facts])
        self.stats.applied += applied
        self.stats.duplicates += duplicates
        return applied

    async def _apply_batch(self, facts: Sequence[CallFact]) -> tuple[int, int]:
        keys = [fact_key(fact) for fact in facts]
        read = await self.transfers.read(facts) if self.transfers is not None else None
        async with self._sessions.begin() as session:
            if read is not None:
                read.attach(session)
            seen = await _recorded(session, set(keys))
            new: list[tuple[CallFact, str]] = []
            for fact, key in zip(facts, keys, strict=True):
                if key not in seen:
                    seen.add(key)
                    new.append((fact, key))
            call_facts = [fact for fact, _ in new if not isinstance(fact, AGENT_FACTS)]
            calls = await self._calls(session, {fact.linkedid for fact in call_facts})
            await prefetch(session, calls, call_facts)
            for fact, key in new:
                session.add(RecordedFact(key=key))
                if isinstance(fact, AGENT_FACTS):
                    await write_agent_fact(session, fact)
                else:
                    await write_fact(session, calls[fact.linkedid], fact, self.transfers)
        return len(new), len(facts) - len(new)

    async def _calls(self, session: AsyncSession, linkedids: set[str]) -> dict[str, Call]:
        """The batch's calls, locked in one order (no deadlock between two recorders);
        the missing ones created, in that same order."""
        ordered = sorted(linkedids)
        calls = await self._existing_calls(session, ordered)
        missing = [linkedid for linkedid in ordered if linkedid not in calls]
        for linkedid in missing:
            calls[linkedid] = call = new_call(linkedid)
            session.add(call)
        if missing:
            await session.flush()  # their ids, for the queue entries and transfers
        return calls

    async def _existing_calls(self, session: AsyncSession, ordered: list[str]) -> dict[str, Call]:
        calls: dict[str, Call] = {}
        for chunk in chunks(ordered):
            rows = await session.execute(
                select(Call)
                .where(Call.linkedid.in_(chunk))
                .order_by(Call.linkedid)
                .with_for_update()
            )
            calls.update((call.linkedid, call) for call in rows.scalars())
        return calls

    async def settle_orphans(self) -> int:
        """Link calls to tickets that now exist; give a ticket to calls that waited too long."""
        return await settle_orphans(
            self._sessions,
            self._tickets,
            cutoff=self._clock() - self._orphan_after,
            stats=self.stats,
        )


async def _recorded(session: AsyncSession, keys: set[str]) -> set[str]:
    """Those of `keys` recorded before."""
    found: set[str] = set()
    for chunk in chunks(sorted(keys)):
        found.update(
            await session.scalars(select(RecordedFact.key).where(RecordedFact.key.in_(chunk)))
        )
    return found
