"""Registering a ticket: one route per backend, the same audit rows whichever way it came."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event, insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from crm.db import make_engine, make_sessionmaker
from crm.errors import CallNotFound, UinNotReserved
from crm.models import Call, TicketEvent
from crm.schemas import CallAttach, TicketCreate
from crm.service import TicketService
from crm.tickets.registration import Registrar, Registration

NOW = datetime(2026, 11, 25, 7, 0, tzinfo=UTC)


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = make_engine(database_url)
    yield engine
    await engine.dispose()


@pytest.fixture
def service(engine: AsyncEngine) -> TicketService:
    return TicketService(make_sessionmaker(engine), clock=lambda: NOW)


async def add_call(engine: AsyncEngine, linkedid: str) -> None:
    async with engine.begin() as conn:
        await conn.execute(insert(Call).values(linkedid=linkedid))


async def stored_events(engine: AsyncEngine, ticket_id: int) -> list[dict[str, Any]]:
    async with engine.connect() as conn:
        rows = await conn.execute(
            select(TicketEvent.__table__)
            .where(TicketEvent.ticket_id == ticket_id)
            .order_by(TicketEvent.id)
        )
        return [
            {k: v for k, v in row._mapping.items() if k not in ("id", "ticket_id")} for row in rows
        ]


def created(**data: Any) -> dict[str, Any]:
    return {
        "at": NOW,
        "actor": "agent",
        "action": "created",
        "field": None,
        "old_value": None,
        "new_value": None,
        "data": data,
    }


def row(action: str, field: str, new_value: str) -> dict[str, Any]:
    return {
        "at": NOW,
        "actor": "agent",
        "action": action,
        "field": field,
        "old_value": None,
        "new_value": new_value,
        "data": None,
    }


async def test_every_way_of_registering_writes_the_same_audit_rows(
    service: TicketService, engine: AsyncEngine
) -> None:
    deadline = NOW + timedelta(days=3)
    agreed = await service.register_ticket(
        TicketCreate(caller_name="Вера", priority=4, agreed_deadline=deadline), "agent"
    )
    assert agreed.agreed_deadline == deadline
    assert await stored_events(engine, agreed.id) == [
        created(channel="phone", caller_name="Вера", category="ZnK", priority=4),
        row("changed", "agreed_deadline", deadline.isoformat()),
    ]

    await service.attach_call(agreed.uin, CallAttach(linkedid="1795311765.1"), "service")
    in_call = await service.register_in_call(
        TicketCreate(category="INC", priority=2, summary="Пароль"), "agent", "1795311765.1"
    )
    assert await stored_events(engine, in_call.id) == [
        created(channel="phone", category="INC", priority=2, summary="Пароль"),
        row("call_attached", "call", "1795311765.1"),
    ]
    call, first_uin = await service.get_call("1795311765.1")
    assert first_uin == agreed.uin  # the call keeps its first ticket
    assert await service.call_uins(call) == [agreed.uin, in_call.uin]

    (uin,) = await service.reserve_uins(1, "service")
    reserved, was_created = await service.register_reserved(
        TicketCreate(caller_phone="8 900 000-00-01"), "agent", uin
    )
    assert was_created and reserved.uin == uin and reserved.caller_phone == "+79000000001"
    assert await stored_events(engine, reserved.id) == [
        created(channel="phone", caller_phone="+79000000001", category="ZnK", priority=3)
    ]


async def test_a_call_that_is_not_there_draws_no_uin(service: TicketService) -> None:
    before = await service.register_ticket(TicketCreate(), "agent")
    with pytest.raises(CallNotFound):
        await service.register_in_call(TicketCreate(), "agent", "404.404")
    after = await service.register_ticket(TicketCreate(), "agent")
    assert int(after.uin) == int(before.uin) + 1


async def test_tickets_opened_in_one_call_at_once_leave_it_its_first(
    service: TicketService, engine: AsyncEngine
) -> None:
    await add_call(engine, "1795311765.2")
    opened = await asyncio.gather(
        *(
            service.register_in_call(TicketCreate(summary=f"вопрос {i}"), "agent", "1795311765.2")
            for i in range(6)
        )
    )
    call, first_uin = await service.get_call("1795311765.2")
    uins = await service.call_uins(call)
    assert sorted(uins) == sorted(t.uin for t in opened)
    assert first_uin == uins[0]


async def test_a_reserved_uin_in_a_call_is_claimed_only_with_the_call(
    service: TicketService, engine: AsyncEngine
) -> None:
    """The route takes both at once too: no call, no claim; the UIN stays reserved."""
    registrar = Registrar(make_sessionmaker(engine), 8)
    (uin,) = await service.reserve_uins(1, "service")
    fields = TicketCreate(summary="из стока").model_dump()
    with pytest.raises(CallNotFound):
        await registrar.register(Registration(fields, "agent", NOW, uin, "404.405"))
    await add_call(engine, "1795311765.3")
    ticket, was_created = await registrar.register(
        Registration(fields, "agent", NOW, uin, "1795311765.3")
    )
    assert was_created and ticket.uin == uin
    again, was_created = await registrar.register(
        Registration(fields, "agent", NOW, uin, "1795311765.3")
    )
    assert not was_created and again.id == ticket.id
    call, first_uin = await service.get_call("1795311765.3")
    assert first_uin == uin and await service.call_uins(call) == [uin]
    with pytest.raises(UinNotReserved):
        await registrar.register(Registration(fields, "agent", NOW, "55555555", "1795311765.3"))


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
async def test_on_postgresql_a_registration_is_one_statement(
    service: TicketService, engine: AsyncEngine
) -> None:
    first = await service.register_ticket(TicketCreate(), "agent")
    await service.attach_call(first.uin, CallAttach(linkedid="1795311765.4"), "service")
    (uin,) = await service.reserve_uins(1, "service")
    statements: list[str] = []

    def count(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        statements.append(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", count)
    try:
        deadline = NOW + timedelta(days=3)
        await service.register_ticket(TicketCreate(priority=4, agreed_deadline=deadline), "a")
        await service.register_in_call(TicketCreate(), "agent", "1795311765.4")
        await service.register_reserved(TicketCreate(), "agent", uin)
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", count)
    assert len(statements) == 3 and all(s.startswith("WITH ") for s in statements)
