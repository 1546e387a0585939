"""UINs kept ready in Redis for when the CRM is slow or down, and the tickets owed for them.

The caller always hears a UIN at once: from the CRM when it answers within its timeout,
else from this stock (reserved from the CRM in advance). A ticket is owed for every UIN
taken from the stock; `PendingTickets` keeps that debt in Redis and pays it (creates the
ticket with that same UIN) as soon as the CRM answers again.
"""

from __future__ import annotations

import asyncio
import json
import logging

from redis.asyncio import Redis
from redis.exceptions import RedisError

from agi.crm_client import (
    CrmClient,
    CrmUnavailable,
    TicketMissing,
    UinNotReserved,
    WithdrawalRefused,
)
from core.aio import wait_any
from core.keys import (
    AGI_PENDING_REFUSED,
    AGI_PENDING_TICKETS,
    AGI_PENDING_WITHDRAWALS,
    AGI_UIN_STOCK,
    AGI_WITHDRAWALS_REFUSED,
)

log = logging.getLogger(__name__)
STOCK_KEY = AGI_UIN_STOCK
PENDING_KEY = AGI_PENDING_TICKETS
REFUSED_KEY = AGI_PENDING_REFUSED
WITHDRAWALS_KEY = AGI_PENDING_WITHDRAWALS
WITHDRAWALS_REFUSED_KEY = AGI_WITHDRAWALS_REFUSED


class UinStock:
    def __init__(self, redis: Redis, crm: CrmClient, low_water: int = 50, block: int = 200) -> None:
        self._redis, self._crm = redis, crm
        self.low_water, self.block = low_water, block
        self._wanted = asyncio.Event()
        self._refilling = asyncio.Lock()

    async def take(self) -> str | None:
        """One reserved UIN, or None when the stock is empty or Redis is unreachable."""
        try:
            uin = await self._redis.lpop(STOCK_KEY)
        except (RedisError, OSError) as exc:
            log.error("UIN stock unreachable in Redis: %s", exc)
            return None
        self._wanted.set()
        return uin.decode() if isinstance(uin, bytes) else uin

    async def discard(self) -> None:
        """Drop the whole stock (the CRM does not know it) and reserve a new one soon."""
        try:
            await self._redis.delete(STOCK_KEY)
        except (RedisError, OSError) as exc:
            log.error("UIN stock not discarded: %s", exc)
        self._wanted.set()

    async def refill(self) -> int:
        """Top the stock up to `low_water + block` when it is below `low_water`.

        One refill at a time: a second one waits, then finds the stock full."""
        async with self._refilling:
            if await self._redis.llen(STOCK_KEY) >= self.low_water:
                return 0
            uins = await self._crm.reserve_uins(self.block)
            await self._redis.rpush(STOCK_KEY, *uins)
        log.info("UIN stock refilled with %d reserved UINs", len(uins))
        return len(uins)

    async def run(self, stop: asyncio.Event, every_s: float = 5.0) -> None:
        while not stop.is_set():
            try:
                await self.refill()
            except (CrmUnavailable, RedisError, OSError) as exc:
                log.warning("UIN stock not refilled: %s", exc)
            self._wanted.clear()
            await wait_any(stop, self._wanted, timeout_s=every_s)


class PendingTickets:
    """Tickets owed for UINs given from the stock, kept in Redis until the CRM has them;
    and withdrawals owed (a caller who named their existing request), paid after them."""

    def __init__(self, redis: Redis, crm: CrmClient) -> None:
        self._redis, self._crm = redis, crm
        self._added = asyncio.Event()

    async def add(self, uin: str, caller_phone: str | None, caller_name: str | None) -> None:
        await self._redis.hset(
            PENDING_KEY,
            uin,
            json.dumps(
                {"caller_phone": caller_phone, "caller_name": caller_name}, ensure_ascii=False
            ),
        )
        self._added.set()

    async def withdraw_later(self, uin: str, into: str) -> None:
        """Owe the withdrawal of `uin` into `into`: paid once the CRM (and `uin`'s ticket,
        if it is owed too) is there."""
        await self._redis.hset(WITHDRAWALS_KEY, uin, into)
        self._added.set()

    async def count(self) -> int:
        return int(await self._redis.hlen(PENDING_KEY))

    async def flush(self) -> int:
        """Create every owed ticket the CRM accepts now, then make the owed withdrawals;
        returns how many tickets were created."""
        created = await self._flush_tickets()
        await self._flush_withdrawals()
        return created

    async def _flush_withdrawals(self) -> None:
        for raw_uin, raw_into in (await self._redis.hgetall(WITHDRAWALS_KEY)).items():
            uin = raw_uin.decode() if isinstance(raw_uin, bytes) else raw_uin
            into = raw_into.decode() if isinstance(raw_into, bytes) else raw_into
            try:
                await self._crm.withdraw(uin, into)
            except TicketMissing:
                if await self._redis.hexists(PENDING_KEY, uin):
                    continue  # its ticket is owed still: withdrawn once it exists
                log.error("withdrawal of %s into %s: no such ticket", uin, into)
                await self._redis.hset(WITHDRAWALS_REFUSED_KEY, uin, into)
            except WithdrawalRefused as exc:
                log.error("withdrawal refused by the CRM: %s", exc)
                await self._redis.hset(WITHDRAWALS_REFUSED_KEY, uin, into)
            else:
                log.warning("UIN %s withdrawn into %s (owed while the CRM was away)", uin, into)
            await self._redis.hdel(WITHDRAWALS_KEY, uin)

    async def _flush_tickets(self) -> int:
        created = 0
        for raw_uin, raw in (await self._redis.hgetall(PENDING_KEY)).items():
            uin = raw_uin.decode() if isinstance(raw_uin, bytes) else raw_uin
            caller = json.loads(raw)
            try:
                await self._crm.register_reserved(
                    uin, caller["caller_phone"], caller["caller_name"]
                )
            except UinNotReserved:
                # Never creatable with this UIN: set aside for a person, not retried forever
                # in front of the others.
                log.error(
                    "owed ticket %s: the CRM does not know this UIN; kept in %s", uin, REFUSED_KEY
                )
                await self._redis.hset(REFUSED_KEY, uin, raw)
            else:
                created += 1
            await self._redis.hdel(PENDING_KEY, uin)
        return created

    async def run(self, stop: asyncio.Event, retry_s: float = 2.0) -> None:
        while not stop.is_set():
            try:
                if created := await self.flush():
                    log.warning("CRM back: %d tickets created for UINs given meanwhile", created)
            except (CrmUnavailable, RedisError, OSError) as exc:
                log.warning("tickets still owed for given UINs: %s", exc)
            self._added.clear()
            await wait_any(stop, self._added, timeout_s=retry_s)
