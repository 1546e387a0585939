"""A consumer group on the fact stream: each read handed over whole, acknowledged after.

The recorder's pattern, for any reader of the fact stream (`<prefix>:facts`) with a group
of its own: first this consumer's unacknowledged entries (a crash re-delivers them), then
new ones; one XACK per read, only once the handler has returned, so a handler that raises
leaves its read pending for the next run. An entry that is not a fact is skipped, and moved to the
dead letters (`<prefix>:facts:dead`) with `dead_letters` (one group only should, or each
would copy it).
With `kinds`, entries of other kinds are acknowledged unread (each entry names its kind).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from pydantic import ValidationError
from redis.asyncio import Redis
from redis.exceptions import ResponseError

from core.aio import wait_any
from core.facts import CallFact, load_fact
from core.keys import RedisKeys

log = logging.getLogger(__name__)

READ_COUNT = 200  # entries per read, handed over together

FactHandler = Callable[[list[CallFact]], Awaitable[object]]


@dataclass
class ConsumerStats:
    entries: int = 0  # entries read and acknowledged
    unreadable: int = 0  # entries that held no readable fact (moved to the dead letters)
    groups_recreated: int = 0  # times the stream (and the group) was gone and made again


class FactConsumer:
    """One consumer of `group` on the fact stream; see the module docstring."""

    def __init__(
        self,
        redis: Redis,
        keys: RedisKeys,
        handle: FactHandler,
        *,
        group: str,
        consumer: str,
        count: int = READ_COUNT,
        dead_letters: bool = False,
        kinds: frozenset[str] | None = None,
        stats: ConsumerStats | None = None,
    ) -> None:
        self._redis = redis
        self._handle = handle
        self.stream, self.group, self.consumer = keys.facts, group, consumer
        self.count = count
        self.dead_letters = keys.dead_letters if dead_letters else None
        self._kinds = {kind.encode() for kind in kinds} if kinds is not None else None
        self.stats = stats if stats is not None else ConsumerStats()

    async def ensure_group(self) -> None:
        try:
            await self._redis.xgroup_create(self.stream, self.group, id="0", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    async def run(
        self, stop: asyncio.Event, block_ms: int = 1000, *, linger_s: float = 0.0
    ) -> None:
        """Consume until `stop` is set: first this consumer's pending entries, then new.

        `linger_s`: after a short read, wait that long so the next read carries more (as
        the recorder does; for a busy process with nobody waiting: the demo)."""
        await self.ensure_group()
        await self.process(pending=True)
        while not stop.is_set():
            handled = await self.process(block_ms=block_ms)
            if linger_s and 0 < handled < self.count:
                await wait_any(stop, timeout_s=linger_s)

    async def process(
        self, *, pending: bool = False, block_ms: int | None = None, count: int | None = None
    ) -> int:
        """Read one batch (`count` entries at most, the consumer's own by default), hand its
        facts over, acknowledge it; how many entries it had."""
        try:
            reply = await self._redis.xreadgroup(
                self.group,
                self.consumer,
                {self.stream: "0" if pending else ">"},
                count=count or self.count,
                block=None if pending else block_ms,
            )
        except ResponseError as exc:
            if not _stream_gone(exc):
                raise
            # The stream's key was deleted (or Redis flushed) under us: the group went with
            # it. Made again, it reads what is written from now on; nothing else was left.
            log.warning(
                "%s: the stream %s is gone (%s); group made again", self.group, self.stream, exc
            )
            self.stats.groups_recreated += 1
            await self.ensure_group()
            return 0
        entry_ids: list[bytes] = []
        facts: list[CallFact] = []
        for _stream, entries in reply or []:
            for entry_id, fields in entries:
                entry_ids.append(entry_id)
                if self._kinds is not None and (fields or {}).get(b"kind") not in self._kinds:
                    continue
                fact = await self._read(entry_id, fields)
                if fact is not None:
                    facts.append(fact)
        if not entry_ids:
            return 0
        if facts:
            await self._handle(facts)
        # Only once handled: a crash before this line re-delivers the whole read.
        await self._redis.xack(self.stream, self.group, *entry_ids)
        self.stats.entries += len(entry_ids)
        return len(entry_ids)

    async def _read(self, entry_id: bytes, fields: dict[bytes, bytes] | None) -> CallFact | None:
        """The fact of one stream entry, or None for one that is not a fact."""
        raw = (fields or {}).get(b"fact", b"")  # a pending entry trimmed away has no fields
        try:
            return load_fact(raw)
        except ValidationError as exc:
            # A fact we cannot read must not block the ones behind it.
            self.stats.unreadable += 1
            reason = exc.errors()[0]["msg"] if exc.errors() else exc
            if self.dead_letters is None:
                log.warning("%s: unreadable fact %s skipped: %s", self.group, entry_id, reason)
                return None
            log.error(
                "%s: unreadable fact %s moved to %s: %s",
                self.group,
                entry_id,
                self.dead_letters,
                reason,
            )
            await self._redis.xadd(self.dead_letters, {"fact": raw, "from": entry_id})
            return None


def _stream_gone(exc: ResponseError) -> bool:
    """Redis's answer when the stream key, and with it the group, no longer exists."""
    text = str(exc)
    return text.startswith("NOGROUP") or "stream key no longer exists" in text
