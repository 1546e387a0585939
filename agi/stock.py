"""UINs kept ready in Redis for when the CRM is slow or down, and the tickets owed for them.

The caller always hears a UIN at once: from the CRM when it answers within its timeout,
else from this stock (reserved from the CRM in advance). A ticket is owed for every UIN
taken from the stock; `PendingTickets` keeps that debt in Redis and pays it (creates the
ticket with that same UIN) as soon as the CRM answers again.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import json
import logging
import time
from collections import deque
from collections.abc import Callable

from redis.asyncio import Redis
from redis.exceptions import RedisError

from agi.crm_client import (
    CrmClient,
    CrmRefused,
    CrmUnavailable,
    TicketMissing,
    UinNotReserved,
    WithdrawalRefused,
)
from core.aio import wait_any
from core.keys import RedisKeys
from core.text import clean_text

log = logging.getLogger(__name__)
# The stock holds at least the UINs callers took over this window (the observed peak).
PEAK_WINDOW_S = 60.0
# A burst's pace over SURGE_WINDOW_S is taken to last SURGE_HOLD_S (a multiple of it).
SURGE_WINDOW_S = 10.0
SURGE_HOLD_S = 30.0
# The minute's peak is kept in Redis this long after it was last reached (then forgotten:
# a one-off burst does not hold the stock up for good).
PEAK_KEPT_S = 7 * 24 * 3600
RESERVE_MAX = 1000  # UINs per reservation request (the API's limit)
# An owed ticket the CRM answered with an error waits this long, doubling, up to the max.
RETRY_FIRST_S = 2.0
RETRY_MAX_S = 300.0
# The CRM's answers about the request itself: the same body sent again gets the same no.
# (A 404 or 429 may come from a proxy or a CRM starting up: those wait and retry.)
REFUSED_FOR_GOOD = frozenset({400, 409, 413, 422})
# Owed tickets sent to the CRM at once when it is back (a few connections' worth).
FLUSH_CONCURRENCY = 8
# Owed tickets go out once callers stop coming for this long (a burst's), or this late at most.
BURST_QUIET_S = 0.25
BURST_LINGER_MAX_S = 3.0
# A UIN taken and its ticket owed in one step: one round trip for a caller in a burst, and
# no moment when a UIN is out of the stock but its ticket not yet owed.
_TAKE_OWED = """
local uin = redis.call('LPOP', KEYS[1])
if uin then redis.call('HSET', KEYS[2], uin, ARGV[1]) end
return uin
"""


def owed_entry(caller_phone: str | None, caller_name: str | None) -> str:
    """What `PendingTickets` keeps of an owed ticket: the caller it is for."""
    return json.dumps(
        {"caller_phone": caller_phone, "caller_name": caller_name}, ensure_ascii=False
    )


class UinStock:
    """Reserved UINs in Redis, sized to the observed peak.

    It holds at least `low_water` UINs, or as many as callers took in the last minute if
    that is more, or the most they took in a minute lately (kept in Redis for a restarted
    server, `PEAK_KEPT_S`): it is topped up to twice that whenever it is below twice that,
    in blocks of at least `block` (one request per 1,000), several on their way at once if
    a burst outpaces the first. A caller who finds it empty waits briefly for the refill already on
    its way (`take(wait_s=...)`): one reservation serves a whole burst, where a registration
    per caller would not.
    """

    def __init__(
        self,
        redis: Redis,
        keys: RedisKeys,
        crm: CrmClient,
        low_water: int = 50,
        block: int = 200,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._redis, self._crm, self._clock = redis, crm, clock
        self.key = keys.uin_stock
        self._owed_key = keys.pending_tickets
        self._take_owed = redis.register_script(_TAKE_OWED)
        self.low_water, self.block = low_water, block
        self._wanted = asyncio.Event()
        self._refilling = asyncio.Lock()
        self._on_order = 0  # UINs being reserved now, not in Redis yet
        self._refilled = asyncio.Condition()
        self._taken: deque[float] = deque()  # when UINs were taken, over PEAK_WINDOW_S
        self._peak_key = keys.uin_peak
        self._peak: int | None = None  # the kept peak (RedisKeys.uin_peak), once read

    @property
    def wanted_level(self) -> int:
        """The stock is kept at twice this many UINs: the last minute's takes at least, and
        in a burst its pace (the takes of the last `SURGE_WINDOW_S`) held for `SURGE_HOLD_S`,
        so the block reserved early in a burst already covers the rest of it."""
        now = self._clock()
        horizon = now - PEAK_WINDOW_S
        while self._taken and self._taken[0] < horizon:
            self._taken.popleft()
        surge = len(self._taken) - bisect.bisect_left(self._taken, now - SURGE_WINDOW_S)
        return max(
            self.low_water,
            self._peak or 0,
            len(self._taken),
            surge * int(SURGE_HOLD_S / SURGE_WINDOW_S),
        )

    async def _keep_peak(self) -> None:
        """Read the kept peak once; keep the last minute's takes as the peak when they
        pass it, so that a restarted server's first refill is already that size."""
        if self._peak is None:
            self._peak = int(await self._redis.get(self._peak_key) or 0)
        minute = len(self._taken)
        if minute > self._peak:
            self._peak = minute
            await self._redis.set(self._peak_key, minute, ex=PEAK_KEPT_S)

    async def take(self, wait_s: float = 0.0, owed: str | None = None) -> str | None:
        """One reserved UIN, or None when the stock is empty (after waiting up to `wait_s`
        for a refill) or Redis is unreachable. With `owed` (an `owed_entry`), its ticket is
        owed (`PendingTickets`) in the same step as the take."""
        try:
            uin = await self._pop(owed)
            self._taken.append(self._clock())
            self._wanted.set()
            if uin is None and wait_s > 0:
                async with self._refilled:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._refilled.wait(), wait_s)
                uin = await self._pop(owed)
        except (RedisError, OSError) as exc:
            log.error("UIN stock unreachable in Redis: %s", exc)
            return None
        return uin.decode() if isinstance(uin, bytes) else uin

    async def _pop(self, owed: str | None) -> bytes | str | None:
        if owed is None:
            return await self._redis.lpop(self.key)
        return await self._take_owed(keys=[self.key, self._owed_key], args=[owed])

    async def discard(self) -> None:
        """Drop the whole stock (the CRM does not know it) and reserve a new one soon."""
        try:
            await self._redis.delete(self.key)
        except (RedisError, OSError) as exc:
            log.error("UIN stock not discarded: %s", exc)
        self._wanted.set()

    async def refill(self) -> int:
        """Top the stock up to twice `wanted_level` as soon as it is below that: early, so
        that in a burst a block is on its way before the stock runs out (each reservation
        is a block of at least `block`, so a steady trickle of takes is not a request each).

        Several refills may be on their way at once (a burst outpacing the first block):
        each counts the UINs the others are still bringing."""
        async with self._refilling:  # the count only: reservations overlap
            await self._keep_peak()
            have = int(await self._redis.llen(self.key)) + self._on_order
            wanted = self.wanted_level
            enough = have >= 2 * wanted
            count = 0 if enough else max(self.block, 2 * wanted - have)
            self._on_order += count
        if enough:
            # Enough, counting those on their way: returns once they are in the stock.
            async with self._refilled:
                while self._on_order:
                    await self._refilled.wait()
            return 0
        reserved = 0
        try:
            while reserved < count:
                uins = await self._crm.reserve_uins(min(RESERVE_MAX, count - reserved))
                await self._redis.rpush(self.key, *uins)
                reserved += len(uins)
                self._on_order -= len(uins)
                async with self._refilled:
                    self._refilled.notify_all()
        finally:
            self._on_order -= count - reserved
            async with self._refilled:
                self._refilled.notify_all()
        log.info("UIN stock refilled with %d reserved UINs (level wanted %d)", reserved, wanted)
        return reserved

    async def _refill_logged(self) -> None:
        try:
            await self.refill()
        except (CrmUnavailable, RedisError, OSError) as exc:
            log.warning("UIN stock not refilled: %s", exc)
        except Exception:
            log.exception("UIN stock refill failed")

    async def run(self, stop: asyncio.Event, every_s: float = 5.0) -> None:
        """Refill whenever a UIN is taken (or every `every_s`); a refill still on its way
        does not hold the next one back."""
        refills: set[asyncio.Task[None]] = set()
        try:
            while not stop.is_set():
                task = asyncio.create_task(self._refill_logged())
                refills.add(task)
                task.add_done_callback(refills.discard)
                self._wanted.clear()
                await wait_any(stop, self._wanted, timeout_s=every_s)
        finally:
            for task in refills:
                task.cancel()
            await asyncio.gather(*refills, return_exceptions=True)


class PendingTickets:
    """Tickets owed for UINs given from the stock, kept in Redis until the CRM has them;
    and withdrawals owed (a caller who named their existing request), paid after them.

    Each owed ticket is paid on its own: one the CRM answers with an error is retried
    later with its own backoff while the others go on; one the CRM refuses for good
    (`REFUSED_FOR_GOOD`: nothing a retry can change) is set aside (`RedisKeys.
    pending_refused`) for a person, logged, and counted on `GET /api/health` and in the
    metrics. Only a CRM that does not answer at all ends a round early (the next ones
    would wait as long).
    The caller's text is cleaned before it is sent (an entry written before the AGI
    server cleaned the AGI environment can hold a NUL)."""

    def __init__(
        self,
        redis: Redis,
        keys: RedisKeys,
        crm: CrmClient,
        clock: Callable[[], float] = time.monotonic,
        concurrency: int = FLUSH_CONCURRENCY,
    ) -> None:
        self._redis, self._crm, self._clock = redis, crm, clock
        self._keys = keys
        self._concurrency = concurrency
        self._added = asyncio.Event()
        self._failures: dict[str, int] = {}  # uin -> errors in a row (this process)
        self._next_try: dict[str, float] = {}  # uin -> not before this clock reading
        # the CRM failed a caller's registration or a round since the last tickets paid:
        # their payment is then news for an operator ("CRM back"), not a burst's routine
        self._crm_was_away = False

    async def add(
        self,
        uin: str,
        caller_phone: str | None,
        caller_name: str | None,
        crm_away: bool = False,
    ) -> None:
        """Owe `uin`'s ticket; `crm_away`: because the CRM did not take it (not a burst's
        or a full gate's debt, owed on purpose)."""
        self._crm_was_away |= crm_away
        await self._redis.hset(
            self._keys.pending_tickets, uin, owed_entry(caller_phone, caller_name)
        )
        self._added.set()

    def added(self) -> None:
        """A ticket was owed along with its UIN's take (`UinStock.take(owed=...)`)."""
        self._added.set()

    async def withdraw_later(self, uin: str, into: str) -> None:
        """Owe the withdrawal of `uin` into `into`: paid once the CRM (and `uin`'s ticket,
        if it is owed too) is there."""
        await self._redis.hset(self._keys.pending_withdrawals, uin, into)
        self._added.set()

    async def _after_the_burst(
        self, stop: asyncio.Event, quiet_s: float, linger_max_s: float
    ) -> None:
        """While tickets are being owed one after another (a burst of callers), wait for a
        `quiet_s` without a new one, `linger_max_s` at most: the AGI server's loop then
        answers the callers first, and their tickets go out right after them."""
        until = self._clock() + linger_max_s
        while self._added.is_set() and not stop.is_set():
            self._added.clear()
            left_s = until - self._clock()
            if left_s <= 0:
                return
            await wait_any(stop, self._added, timeout_s=min(quiet_s, left_s))

    async def count(self) -> int:
        return int(await self._redis.hlen(self._keys.pending_tickets))

    async def flush(self) -> int:
        """Create every owed ticket the CRM accepts now, then make the owed withdrawals;
        returns how many tickets were created."""
        created = await self._flush_tickets()
        await self._flush_withdrawals()
        return created

    async def _flush_withdrawals(self) -> None:
        for raw_uin, raw_into in (
            await self._redis.hgetall(self._keys.pending_withdrawals)
        ).items():
            uin = raw_uin.decode() if isinstance(raw_uin, bytes) else raw_uin
            into = raw_into.decode() if isinstance(raw_into, bytes) else raw_into
            try:
                await self._crm.withdraw(uin, into)
            except TicketMissing:
                if await self._redis.hexists(self._keys.pending_tickets, uin):
                    continue  # its ticket is owed still: withdrawn once it exists
                log.error("withdrawal of %s into %s: no such ticket", uin, into)
                await self._redis.hset(self._keys.withdrawals_refused, uin, into)
            except WithdrawalRefused as exc:
                log.error("withdrawal refused by the CRM: %s", exc)
                await self._redis.hset(self._keys.withdrawals_refused, uin, into)
            except CrmRefused as exc:  # a server error on this one: the next round again
                log.warning("withdrawal of %s into %s not made yet: %s", uin, into, exc)
                continue
            else:
                log.warning("UIN %s withdrawn into %s (owed while the CRM was away)", uin, into)
            await self._redis.hdel(self._keys.pending_withdrawals, uin)

    async def _flush_tickets(self) -> int:
        now = self._clock()
        due = [
            (uin.decode() if isinstance(uin, bytes) else uin, raw)
            for uin, raw in (await self._redis.hgetall(self._keys.pending_tickets)).items()
        ]
        due = [(uin, raw) for uin, raw in due if self._next_try.get(uin, 0.0) <= now]
        created = 0
        for start in range(0, len(due), self._concurrency):
            batch = due[start : start + self._concurrency]
            results = await asyncio.gather(
                *(self._settle(uin, raw) for uin, raw in batch), return_exceptions=True
            )
            created += sum(result is True for result in results)
            for result in results:
                if isinstance(result, Exception):
                    raise result  # the CRM does not answer (or Redis fails): next round
        return created

    async def _settle(self, uin: str, raw: str | bytes) -> bool:
        """Pay one owed ticket: True when created; False when it waits or is set aside."""
        try:
            await self._pay(uin, raw)
        except CrmRefused as exc:
            if exc.status in REFUSED_FOR_GOOD:
                await self._set_aside(uin, raw, str(exc))
            else:
                self._back_off(uin, exc)
            return False
        self._failures.pop(uin, None)
        self._next_try.pop(uin, None)
        await self._redis.hdel(self._keys.pending_tickets, uin)
        return True

    async def _pay(self, uin: str, raw: str | bytes) -> None:
        try:
            caller = json.loads(raw)
            phone, name = caller["caller_phone"], caller["caller_name"]
        except (ValueError, KeyError, TypeError) as exc:
            raise CrmRefused(400, f"owed ticket {uin}: unreadable entry: {exc}") from exc
        try:
            await self._crm.register_reserved(
                uin, phone and clean_text(phone), name and clean_text(name)
            )
        except UinNotReserved as exc:
            raise CrmRefused(422, f"the CRM does not know UIN {uin} as reserved") from exc

    def _back_off(self, uin: str, exc: Exception) -> None:
        failures = self._failures[uin] = self._failures.get(uin, 0) + 1
        delay_s = min(RETRY_MAX_S, RETRY_FIRST_S * 2 ** (failures - 1))
        self._next_try[uin] = self._clock() + delay_s
        log.warning(
            "owed ticket %s failed %d time(s), next try in %.0f s: %s", uin, failures, delay_s, exc
        )

    async def _set_aside(self, uin: str, raw: str | bytes, why: str) -> None:
        # Never creatable as it is: kept for a person, not retried forever.
        log.error("owed ticket %s set aside in %s: %s", uin, self._keys.pending_refused, why)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hset(self._keys.pending_refused, uin, raw)
            pipe.hdel(self._keys.pending_tickets, uin)
            await pipe.execute()
        self._failures.pop(uin, None)
        self._next_try.pop(uin, None)

    def _paid(self, created: int) -> None:
        if self._crm_was_away:
            self._crm_was_away = False
            log.warning("CRM back: %d tickets created for UINs given meanwhile", created)
        else:  # owed on purpose (a burst, the registration gate full): routine
            log.info("%d owed tickets created (UINs given in a burst)", created)

    async def run(
        self,
        stop: asyncio.Event,
        retry_s: float = 2.0,
        quiet_s: float = BURST_QUIET_S,
        linger_max_s: float = BURST_LINGER_MAX_S,
    ) -> None:
        while not stop.is_set():
            await self._after_the_burst(stop, quiet_s, linger_max_s)
            try:
                if created := await self.flush():
                    self._paid(created)
            except CrmUnavailable as exc:
                self._crm_was_away = True
                log.warning("tickets still owed for given UINs: %s", exc)
            except (RedisError, OSError) as exc:
                log.warning("tickets still owed for given UINs: %s", exc)
            self._added.clear()
            await wait_any(stop, self._added, timeout_s=retry_s)
