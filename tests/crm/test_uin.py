"""UINs: from a database sequence, fixed width, unique under concurrency, never reused."""

from __future__ import annotations

import asyncio
import re

import httpx
import pytest
from sqlalchemy import delete, event, insert, text

from crm.db import make_engine, make_sessionmaker
from crm.errors import UinSpaceExhausted
from crm.models import Ticket, TicketEvent, UinCounter
from crm.schemas import TicketCreate
from crm.service import TicketService
from crm.tickets.uins import reserve_uins
from tests.conftest import auth


async def test_200_concurrent_creations_give_200_distinct_uins(
    client: httpx.AsyncClient, database_url: str
) -> None:
    async def one(i: int) -> str:
        response = await client.post(
            "/api/tickets",
            json={"category": "ZnK", "priority": 3, "caller_phone": f"+7900{i:07d}"},
            headers=auth("service"),
        )
        assert response.status_code == 201, response.text
        return response.json()["uin"]

    uins = await asyncio.gather(*(one(i) for i in range(200)))
    assert len(set(uins)) == 200
    assert all(re.fullmatch(r"\d{8}", uin) for uin in uins)
    listed = (
        await client.get("/api/tickets", params={"page_size": 1}, headers=auth("agent"))
    ).json()
    assert listed["total"] == 200


async def test_uin_is_never_reused_even_after_the_ticket_is_gone(database_url: str) -> None:
    engine = make_engine(database_url)
    service = TicketService(make_sessionmaker(engine))
    try:
        first = await service.register_ticket(TicketCreate(category="ZnK", priority=3), "test")
        async with engine.begin() as conn:
            await conn.execute(delete(TicketEvent))
            await conn.execute(delete(Ticket))
        second = await service.register_ticket(TicketCreate(category="ZnK", priority=3), "test")
        assert int(second.uin) > int(first.uin)
    finally:
        await engine.dispose()


async def test_width_setting_and_exhaustion(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        wide = TicketService(make_sessionmaker(engine), uin_digits=12)
        ticket = await wide.register_ticket(TicketCreate(category="INC", priority=2), "test")
        assert len(ticket.uin) == 12 and ticket.uin.startswith("0000")
        async with engine.begin() as conn:  # jump the sequence to the end of 4-digit space
            if database_url.startswith("postgresql"):
                await conn.execute(text("SELECT setval('uin_seq', 9998)"))
            else:
                await conn.execute(insert(UinCounter).values(value=9998))
        tiny = TicketService(make_sessionmaker(engine), uin_digits=4)
        last = await tiny.register_ticket(TicketCreate(category="INC", priority=2), "test")
        assert last.uin == "9999"
        with pytest.raises(UinSpaceExhausted, match="HOTLINE_UIN_DIGITS"):
            await tiny.register_ticket(TicketCreate(category="INC", priority=2), "test")
    finally:
        await engine.dispose()


async def test_reserved_uins_become_tickets_once(client: httpx.AsyncClient) -> None:
    block = await client.post("/api/uins/reserve", json={"count": 3}, headers=auth("service"))
    assert block.status_code == 201
    uins = block.json()["uins"]
    assert len(set(uins)) == 3 and all(re.fullmatch(r"\d{8}", u) for u in uins)
    fresh = (await client.post("/api/tickets", json={}, headers=auth("service"))).json()
    assert fresh["uin"] not in uins  # reserved numbers are never handed out again
    body = {"caller_phone": "+79000000001", "caller_name": "Алиса"}
    first = await client.put(f"/api/tickets/{uins[1]}", json=body, headers=auth("service"))
    assert first.status_code == 201 and first.json()["uin"] == uins[1]
    again = await client.put(f"/api/tickets/{uins[1]}", json=body, headers=auth("service"))
    assert again.status_code == 200 and again.json() == first.json()
    listed = (await client.get("/api/tickets", headers=auth("agent"))).json()
    assert listed["total"] == 2


async def test_unreserved_uin_is_refused(client: httpx.AsyncClient) -> None:
    response = await client.put("/api/tickets/55555555", json={}, headers=auth("service"))
    assert response.status_code == 422
    assert "was not reserved" in response.json()["detail"][0]["msg"]
    taken = (await client.post("/api/tickets", json={}, headers=auth("service"))).json()["uin"]
    response = await client.put(f"/api/tickets/{taken}", json={}, headers=auth("service"))
    assert response.status_code == 422


async def test_only_the_service_role_reserves(client: httpx.AsyncClient) -> None:
    for role in ("agent", "supervisor"):
        response = await client.post("/api/uins/reserve", json={"count": 1}, headers=auth(role))
        assert response.status_code == 403
        assert (
            await client.put("/api/tickets/00000001", json={}, headers=auth(role))
        ).status_code == 403
    too_many = await client.post("/api/uins/reserve", json={"count": 5000}, headers=auth("service"))
    assert too_many.status_code == 422


async def test_a_reserved_uin_registered_concurrently_makes_one_ticket(
    client: httpx.AsyncClient,
) -> None:
    """The AGI's late request and its retry can arrive together: one ticket, no error."""
    block = await client.post("/api/uins/reserve", json={"count": 1}, headers=auth("service"))
    (uin,) = block.json()["uins"]

    async def put() -> httpx.Response:
        return await client.put(
            f"/api/tickets/{uin}", json={"caller_name": "Вера"}, headers=auth("service")
        )

    replies = await asyncio.gather(*(put() for _ in range(8)))
    assert sorted(r.status_code for r in replies) == [200] * 7 + [201]
    assert {r.json()["id"] for r in replies} == {replies[0].json()["id"]}
    listed = (await client.get("/api/tickets", headers=auth("agent"))).json()
    assert listed["total"] == 1


async def test_a_block_of_uins_is_drawn_in_one_statement(database_url: str) -> None:
    """The AGI server's stock reserves hundreds at a time: one statement draws them all
    (SQLite drew them one INSERT each), distinct, in order, the space's end still kept."""
    engine = make_engine(database_url)
    statements: list[str] = []

    @event.listens_for(engine.sync_engine, "before_cursor_execute")
    def _count(_conn, _cursor, statement, _params, _context, _many):  # type: ignore[no-untyped-def]
        statements.append(statement)

    try:
        sessions = make_sessionmaker(engine)
        uins = await reserve_uins(sessions, 300, "test", 8)
        draws = [s for s in statements if "uin_counter" in s or "uin_seq" in s]
        assert len(draws) == 1, draws
        assert len(set(uins)) == 300 and uins == sorted(uins)
        assert int(uins[-1]) - int(uins[0]) == 299
        assert (await reserve_uins(sessions, 2, "test", 8))[0] > uins[-1]  # never reused
        with pytest.raises(UinSpaceExhausted):
            await reserve_uins(sessions, 700, "test", 3)  # 303 to 1002: past 999
    finally:
        await engine.dispose()
