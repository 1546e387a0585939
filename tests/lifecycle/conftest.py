"""Fixtures of the lifecycle tests: a fake clock, the app built with it, helpers on the DB."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from asgi_lifespan import LifespanManager
from sqlalchemy import select
from sqlalchemy.ext.asyncio import create_async_engine

from core.settings import LifecycleSettings, Settings
from crm.models import Notification, Ticket
from hotline.bootstrap import create_app
from tests.conftest import auth

MSK = ZoneInfo("Europe/Moscow")
HOUR_S = 3600
DAY_S = 9 * HOUR_S  # one business day with the default hours 09:00-18:00
SECRET = "a-test-secret-key-that-is-long-enough-0123456789"


def msk(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=MSK)


class FakeClock:
    """The app's "now", moved by the test."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def set(self, now: datetime) -> None:
        self.now = now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(msk(2026, 11, 25, 10, 0))  # a Wednesday


@pytest.fixture
def lc_settings(settings: Settings) -> Settings:
    return settings.model_copy(
        update={
            "lifecycle": LifecycleSettings(
                secret_key=SECRET, public_url="https://hotline.example.ru"
            )
        }
    )


@pytest.fixture
async def lc(lc_settings: Settings, clock: FakeClock) -> AsyncIterator[httpx.AsyncClient]:
    """The CRM app on the fake clock, behind an in-process HTTP client."""
    app = create_app(lc_settings, clock=clock)
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://crm") as http:
            yield http


async def new_ticket(http: httpx.AsyncClient, **over: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "channel": "phone",
        "caller_phone": "+7 900 000-00-01",
        "caller_name": "Алиса Петрова",
        "category": "INC",
        "priority": 3,
        "summary": "Не формируется отчёт",
    }
    body.update(over)
    response = await http.post("/api/tickets", json=body, headers=auth("agent"))
    assert response.status_code == 201, response.text
    return response.json()


async def post(
    http: httpx.AsyncClient,
    uin: str,
    step: str,
    body: dict[str, Any] | None = None,
    role: str = "agent",
) -> httpx.Response:
    return await http.post(f"/api/tickets/{uin}/{step}", json=body or {}, headers=auth(role))


async def sla(http: httpx.AsyncClient, uin: str) -> dict[str, Any]:
    response = await http.get(f"/api/tickets/{uin}/sla", headers=auth("service"))
    assert response.status_code == 200, response.text
    return response.json()


async def events(http: httpx.AsyncClient, uin: str) -> list[dict[str, Any]]:
    response = await http.get(f"/api/tickets/{uin}/events", headers=auth("agent"))
    assert response.status_code == 200, response.text
    return response.json()


async def outbox(url: str, uin: str | None = None) -> list[Any]:
    """The outbox rows (of one ticket), oldest first, read straight from the database."""
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            query = select(Notification).order_by(Notification.id)
            if uin is not None:
                query = query.join(Ticket, Ticket.id == Notification.ticket_id).where(
                    Ticket.uin == uin
                )
            return list((await conn.execute(query)).all())
    finally:
        await engine.dispose()
