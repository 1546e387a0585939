"""Owed tickets are paid one by one: a poisoned or failing one never blocks the others;
and the caller text they carry is cleaned where it enters.

A caller heard a UIN from the stock while the CRM was down; the ticket is owed. When the
CRM is back, every owed ticket must be created, whatever one of them holds.
"""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest

from agi.crm_client import CrmClient, CrmUnavailable
from agi.server import read_env
from agi.stock import FLUSH_CONCURRENCY, RETRY_FIRST_S, PendingTickets
from core.settings import CrmClientSettings
from tests.agi.conftest import Hotline
from tests.conftest import TOKENS

OWED = 1000


class FailingFor(httpx.AsyncBaseTransport):
    """The CRM, but the registration of one UIN answers `status` (a fault of that row)."""

    def __init__(self, inner: httpx.AsyncBaseTransport, uin: str, status: int) -> None:
        self.inner, self.uin, self.status = inner, uin, status
        self.tries = 0
        self.every = False  # every registration fails, not only this UIN's

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.method == "PUT" and (self.every or request.url.path.endswith(f"/{self.uin}")):
            self.tries += 1
            return httpx.Response(self.status, json={"detail": "this one fails"})
        return await self.inner.handle_async_request(request)


async def _owe(hotline: Hotline, count: int) -> list[str]:
    """`count` reserved UINs owed as tickets, as if callers heard them with the CRM down."""
    uins: list[str] = []
    while len(uins) < count:
        reply = await hotline.crm.post(
            "/api/uins/reserve",
            json={"count": min(1000, count - len(uins))},
            headers={"Authorization": f"Bearer {TOKENS['service']}"},
        )
        assert reply.status_code == 201, reply.text[:200]
        uins += reply.json()["uins"]
    entries = {
        uin: json.dumps({"caller_phone": None, "caller_name": f"Caller {i}"}, ensure_ascii=False)
        for i, uin in enumerate(uins)
    }
    await hotline.redis.hset(hotline.keys.pending_tickets, mapping=entries)
    return uins


def _pending(
    hotline: Hotline, transport: httpx.AsyncBaseTransport, now: list[float] | None = None
) -> PendingTickets:
    crm = CrmClient(
        CrmClientSettings(url="http://crm", token=TOKENS["service"], timeout_s=3.0),
        transport=transport,
    )
    if now is None:
        return PendingTickets(hotline.redis, hotline.keys, crm)
    return PendingTickets(hotline.redis, hotline.keys, crm, clock=lambda: now[0])


async def _total(hotline: Hotline) -> int:
    return (await hotline.crm.get("/api/tickets")).json()["total"]


async def test_a_poisoned_entry_is_cleaned_and_created_with_the_others(
    hotline_not_started: Hotline,
) -> None:
    hotline = hotline_not_started
    uins = await _owe(hotline, OWED)
    poisoned = uins[500]
    # An entry written before the AGI environment was cleaned: a NUL in the caller's name.
    await hotline.redis.hset(
        hotline.keys.pending_tickets,
        poisoned,
        json.dumps({"caller_phone": None, "caller_name": "Ива\x00нов"}),
    )
    pending = _pending(hotline, hotline.crm_transport)
    assert await pending.flush() == OWED  # how fast: bench/owed.py
    assert await hotline.redis.hlen(hotline.keys.pending_tickets) == 0
    assert await _total(hotline) == OWED
    ticket = (await hotline.crm.get(f"/api/tickets/{poisoned}")).json()
    assert ticket["caller_name"] == "Иванов"


async def test_an_entry_the_crm_fails_on_waits_alone(hotline_not_started: Hotline) -> None:
    hotline = hotline_not_started
    uins = await _owe(hotline, 50)
    failing = FailingFor(hotline.crm_transport, uins[0], 500)
    now = [0.0]
    pending = _pending(hotline, failing, now)
    assert await pending.flush() == 49
    assert await _total(hotline) == 49
    assert await hotline.redis.hkeys(hotline.keys.pending_tickets) == [uins[0].encode()]
    # Backing off: not tried again before its time, tried again after it.
    assert await pending.flush() == 0
    assert failing.tries == 1
    now[0] += RETRY_FIRST_S + 0.1
    await pending.flush()
    assert failing.tries == 2
    # Once the CRM takes it, it is created like the others.
    failing.uin = "none"
    now[0] += 4 * RETRY_FIRST_S
    assert await pending.flush() == 1
    assert await _total(hotline) == 50


@pytest.mark.parametrize("status", [400, 409, 422])  # REFUSED_FOR_GOOD
async def test_an_entry_the_crm_refuses_for_good_is_set_aside_and_shown(
    hotline_not_started: Hotline, status: int
) -> None:
    hotline = hotline_not_started
    uins = await _owe(hotline, 20)
    pending = _pending(hotline, FailingFor(hotline.crm_transport, uins[7], status))
    assert await pending.flush() == 19
    assert await hotline.redis.hlen(hotline.keys.pending_tickets) == 0
    assert await hotline.redis.hkeys(hotline.keys.pending_refused) == [uins[7].encode()]
    assert await _total(hotline) == 19


async def test_the_agi_environment_is_cleaned_at_the_edge() -> None:
    reader = asyncio.StreamReader()
    reader.feed_data("agi_callerid: 7900\x000000001\nagi_calleridname: Ива\x00нов\x07\n\n".encode())
    env = await read_env(reader)
    assert env == {"agi_callerid": "79000000001", "agi_calleridname": "Иванов"}


@pytest.mark.parametrize("status", [404, 429, 500])
async def test_an_answer_a_proxy_could_give_is_retried_not_set_aside(
    hotline_not_started: Hotline, status: int
) -> None:
    hotline = hotline_not_started
    uins = await _owe(hotline, 5)
    failing = FailingFor(hotline.crm_transport, uins[2], status)
    assert await _pending(hotline, failing).flush() == 4
    assert await hotline.redis.hkeys(hotline.keys.pending_tickets) == [uins[2].encode()]
    assert await hotline.redis.hlen(hotline.keys.pending_refused) == 0


@pytest.mark.parametrize("status", [502, 503, 504])
async def test_a_crm_that_says_it_is_not_there_ends_the_round_without_a_backoff(
    hotline_not_started: Hotline, status: int
) -> None:
    """503 is the whole CRM, not one ticket: nothing is held back once it answers again."""
    hotline = hotline_not_started
    uins = await _owe(hotline, 3 * FLUSH_CONCURRENCY)
    failing = FailingFor(hotline.crm_transport, "none", status)
    failing.every = True
    pending = _pending(hotline, failing)
    with pytest.raises(CrmUnavailable):
        await pending.flush()
    assert failing.tries == FLUSH_CONCURRENCY  # the round ended with its first batch
    failing.every = False
    assert await pending.flush() == len(uins)  # at once: no entry was put on a backoff
    assert sorted(uins) == sorted(
        t["uin"] for t in (await hotline.crm.get("/api/tickets")).json()["items"]
    )


class DownFirst(httpx.AsyncBaseTransport):
    """The CRM, unreachable for its first `down` registrations."""

    def __init__(self, inner: httpx.AsyncBaseTransport, down: int) -> None:
        self.inner, self.down = inner, down

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.method == "PUT" and self.down > 0:
            self.down -= 1
            raise httpx.ConnectError("connection refused", request=request)
        return await self.inner.handle_async_request(request)


async def _paid_by_run(pending: PendingTickets, hotline: Hotline) -> None:
    stop = asyncio.Event()
    task = asyncio.create_task(pending.run(stop, retry_s=0.05, quiet_s=0.01, linger_max_s=0.05))
    try:
        for _ in range(200):
            if await hotline.redis.hlen(hotline.keys.pending_tickets) == 0:
                return
            await asyncio.sleep(0.05)
        raise AssertionError("the owed tickets were not paid")
    finally:
        stop.set()
        await task


async def test_a_bursts_debts_paid_are_routine_a_crm_back_is_a_warning(
    hotline_not_started: Hotline, caplog: pytest.LogCaptureFixture
) -> None:
    """After every burst the server warned "CRM back" though nothing was down (a burst's
    tickets are owed on purpose, `UinStock.take(owed=...)`): an operator reading the
    warnings was told of an outage that never was."""
    hotline = hotline_not_started
    caplog.set_level("INFO", logger="agi.stock")
    await _owe(hotline, 5)  # owed on purpose: a burst
    await _paid_by_run(_pending(hotline, hotline.crm_transport), hotline)
    paid = [r for r in caplog.records if "owed tickets created" in r.getMessage()]
    assert [r.levelname for r in paid] == ["INFO"]
    assert not [r for r in caplog.records if r.levelname == "WARNING"]
    caplog.clear()

    # The CRM did not take a caller's registration (the route owes it with crm_away), and
    # is still down at the first round: its payment is news.
    pending = _pending(hotline, DownFirst(hotline.crm_transport, down=1))
    (uin,) = await _owe(hotline, 1)
    await pending.add(uin, None, "Caller", crm_away=True)
    await _paid_by_run(pending, hotline)
    back = [r for r in caplog.records if "CRM back" in r.getMessage()]
    assert [r.levelname for r in back] == ["WARNING"]
    assert await _total(hotline) == 6
