"""The UIN stock follows the callers: it holds the last minute's takes, and a caller who
finds it empty gets a UIN from the refill on its way rather than a registration of its own."""

from __future__ import annotations

import asyncio

from agi.crm_client import CrmClient
from agi.stock import UinStock
from core.settings import CrmClientSettings
from tests.agi.conftest import Hotline
from tests.conftest import TOKENS


def _crm(hotline: Hotline) -> CrmClient:
    settings = CrmClientSettings(url="http://crm", token=TOKENS["service"], timeout_s=3.0)
    return CrmClient(settings, transport=hotline.crm_transport)


async def test_the_wanted_level_follows_the_last_minutes_takes(
    hotline_not_started: Hotline,
) -> None:
    hotline = hotline_not_started
    now = [1000.0]
    stock = UinStock(
        hotline.redis, hotline.keys, _crm(hotline), low_water=10, block=20, clock=lambda: now[0]
    )
    assert await stock.refill() == 20  # empty: a block
    assert stock.wanted_level == 10
    for _ in range(15):
        assert await stock.take() is not None
    assert stock.wanted_level == 15  # the burst raised it
    await hotline.redis.delete(hotline.keys.uin_stock)
    assert await stock.refill() == 30  # up to twice the level
    now[0] += 61  # a quiet minute later the level is back to low water
    assert stock.wanted_level == 10
    assert await stock.refill() == 0


async def test_a_refill_over_a_thousand_is_several_reservations(
    hotline_not_started: Hotline,
) -> None:
    hotline = hotline_not_started
    stock = UinStock(hotline.redis, hotline.keys, _crm(hotline), low_water=1200, block=200)
    assert await stock.refill() == 2400
    uins = [u.decode() for u in await hotline.redis.lrange(hotline.keys.uin_stock, 0, -1)]
    assert len(set(uins)) == 2400


async def test_a_caller_finding_it_empty_waits_for_the_refill(
    hotline_not_started: Hotline,
) -> None:
    hotline = hotline_not_started
    stock = UinStock(hotline.redis, hotline.keys, _crm(hotline), low_water=5, block=5)
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
