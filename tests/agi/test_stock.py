"""The UIN stock follows the callers: it holds the last minute's takes, and a caller who
finds it empty gets a UIN from the refill on its way rather than a registration of its own."""

from __future__ import annotations

import asyncio
from typing import Any

from agi.crm_client import CrmClient
from agi.stock import PEAK_KEPT_S, SURGE_HOLD_S, SURGE_WINDOW_S, UinStock, owed_entry
from core.settings import CrmClientSettings
from tests.agi.conftest import Hotline
from tests.conftest import TOKENS


def _crm(hotline: Hotline) -> CrmClient:
    settings = CrmClientSettings(url="http://crm", token=TOKENS["service"], timeout_s=3.0)
    return CrmClient(settings, transport=hotline.crm_transport)


def _stock(hotline: Hotline, **sizes: Any) -> UinStock:
    """The hotline's stock, reserving from its CRM, with `low_water`, `block` (a clock)."""
    return UinStock(hotline.redis, hotline.keys, _crm(hotline), **sizes)


async def test_the_wanted_level_follows_the_last_minutes_takes(
    hotline_not_started: Hotline,
) -> None:
    hotline = hotline_not_started
    now = [1000.0]
    stock = _stock(hotline, low_water=10, block=20, clock=lambda: now[0])
    assert await stock.refill() == 20  # empty: a block
    assert stock.wanted_level == 10
    for _ in range(15):
        assert await stock.take() is not None
    # The burst raised it: 15 takes within SURGE_WINDOW_S, its pace held for SURGE_HOLD_S.
    assert stock.wanted_level == 15 * int(SURGE_HOLD_S / SURGE_WINDOW_S)
    now[0] += SURGE_WINDOW_S + 1  # the pace is over; the minute's takes remain
    assert stock.wanted_level == 15
    await hotline.redis.delete(hotline.keys.uin_stock)
    assert await stock.refill() == 30  # up to twice the level
    now[0] += 60 - SURGE_WINDOW_S  # a quiet minute later: the minute's peak, kept
    assert stock.wanted_level == 15
    assert await stock.refill() == 0


async def test_a_restarted_server_sizes_its_stock_to_the_kept_peak_at_once(
    hotline_not_started: Hotline,
) -> None:
    hotline = hotline_not_started
    stock = _stock(hotline, low_water=10, block=20)
    assert await stock.refill() == 20
    for _ in range(20):
        assert await stock.take() is not None
    await stock.refill()  # keeps the minute's 20 takes as the peak
    assert 0 < await hotline.redis.ttl(hotline.keys.uin_peak) <= PEAK_KEPT_S
    await hotline.redis.delete(hotline.keys.uin_stock)
    # The server restarts: the new stock knows no takes, yet its first refill is the peak's.
    restarted = _stock(hotline, low_water=10, block=5)
    assert await restarted.refill() == 2 * 20
    assert restarted.wanted_level == 20


async def test_a_refill_over_a_thousand_is_several_reservations(
    hotline_not_started: Hotline,
) -> None:
    hotline = hotline_not_started
    stock = _stock(hotline, low_water=1200, block=200)
    assert await stock.refill() == 2400
    uins = [u.decode() for u in await hotline.redis.lrange(hotline.keys.uin_stock, 0, -1)]
    assert len(set(uins)) == 2400


async def test_a_caller_finding_it_empty_waits_for_the_refill(
    hotline_not_started: Hotline,
) -> None:
    hotline = hotline_not_started
    stock = _stock(hotline, low_water=5, block=5)
    stop = asyncio.Event()
    refills = asyncio.create_task(stock.run(stop, every_s=30))
    try:
        await asyncio.sleep(0.5)  # the first refill
        await hotline.redis.delete(hotline.keys.uin_stock)  # emptied, as by a burst
        assert await stock.take() is None  # no wait: none
        assert await stock.take(wait_s=3.0) is not None  # the refill it woke brought one
    finally:
        stop.set()
        await refills


async def test_it_is_topped_up_before_it_falls_under_its_level(
    hotline_not_started: Hotline,
) -> None:
    hotline = hotline_not_started
    stock = _stock(hotline, low_water=10, block=5)
    assert await stock.refill() == 20
    for _ in range(3):
        assert await stock.take() is not None
    # 17 left, over the level (10) still: a block goes out now, not once callers find it low.
    assert stock.wanted_level == 10
    assert await stock.refill() == 5


class HeldReservation(CrmClient):
    """The CRM's first reservation waits until `release` is set (a CRM busy in a burst)."""

    def __init__(self, settings: CrmClientSettings, transport: object) -> None:
        super().__init__(settings, transport=transport)  # type: ignore[arg-type]
        self.release = asyncio.Event()
        self.held = asyncio.Event()
        self.calls = 0

    async def reserve_uins(self, count: int) -> list[str]:
        self.calls += 1
        if self.calls == 1:
            self.held.set()
            await asyncio.wait_for(self.release.wait(), 10)
        return await super().reserve_uins(count)


async def test_a_burst_sends_a_second_block_while_the_first_is_on_its_way(
    hotline_not_started: Hotline,
) -> None:
    hotline = hotline_not_started
    settings = CrmClientSettings(url="http://crm", token=TOKENS["service"], timeout_s=3.0)
    crm = HeldReservation(settings, hotline.crm_transport)
    stock = UinStock(hotline.redis, hotline.keys, crm, low_water=10, block=10)
    first = asyncio.create_task(stock.refill())  # 20 UINs, held at the CRM
    try:
        await asyncio.wait_for(crm.held.wait(), 5)
        for _ in range(20):  # callers keep coming meanwhile; the stock is empty
            assert await stock.take() is None
        # The level is now the burst's pace (20 within SURGE_WINDOW_S, held SURGE_HOLD_S):
        # a second block goes out at once, counting the 20 already on their way.
        wanted = 20 * int(SURGE_HOLD_S / SURGE_WINDOW_S)
        assert await asyncio.wait_for(stock.refill(), 5) == 2 * wanted - 20
        assert not first.done()
    finally:
        crm.release.set()
    assert await first == 20
    assert await hotline.redis.llen(hotline.keys.uin_stock) == 2 * wanted
    await crm.aclose()


async def test_a_uin_taken_for_an_owed_ticket_is_owed_in_the_same_step(
    hotline_not_started: Hotline,
) -> None:
    hotline = hotline_not_started
    stock = _stock(hotline, low_water=1, block=2)
    assert await stock.refill() == 2
    entry = owed_entry("79000000032", "Ёжик")
    uin = await stock.take(owed=entry)
    assert uin is not None
    assert await hotline.redis.hget(hotline.keys.pending_tickets, uin) == entry.encode()
    assert await stock.take() is not None  # the other one: a plain take owes nothing
    assert await hotline.redis.hlen(hotline.keys.pending_tickets) == 1
    # An empty stock owes nothing either.
    assert await stock.take(owed=entry) is None
    assert await hotline.redis.hlen(hotline.keys.pending_tickets) == 1
