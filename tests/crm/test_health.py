"""GET /api/health names what is down with a 503."""

from __future__ import annotations

import httpx
from asgi_lifespan import LifespanManager
from redis.asyncio import Redis

from core.settings import DatabaseSettings, RedisSettings, Settings
from hotline.bootstrap import create_app
from tests.conftest import REDIS_TEST_URL, TEST_KEYS, auth


async def _health(settings: Settings) -> httpx.Response:
    app = create_app(settings)
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://crm") as http:
            return await http.get("/api/health")


async def test_all_up(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/health")
    assert response.status_code == 200
    assert response.json() == {
        "database": "ok",
        "redis": "ok",
        "tickets_owed": {"owed": 0, "set_aside": 0},
    }


async def test_owed_and_set_aside_tickets_are_shown(client: httpx.AsyncClient) -> None:
    redis = Redis.from_url(REDIS_TEST_URL)
    try:
        keys = TEST_KEYS
        await redis.hset(keys.pending_tickets, mapping={"00000001": "{}", "00000002": "{}"})
        await redis.hset(keys.pending_refused, "00000003", "{}")
        response = await client.get("/api/health")
        assert response.status_code == 200  # callers are served: not a reason for 503
        assert response.json()["tickets_owed"] == {"owed": 2, "set_aside": 1}
        metrics = await client.get("/metrics", headers=auth("supervisor"))
        assert "hotline_owed_tickets 2.0" in metrics.text
        assert "hotline_owed_tickets_set_aside 1.0" in metrics.text
    finally:
        await redis.delete(TEST_KEYS.pending_tickets, TEST_KEYS.pending_refused)
        await redis.aclose()


async def test_redis_down_is_named(settings: Settings) -> None:
    down = settings.model_copy(
        update={"redis": RedisSettings(url="redis://127.0.0.1:1/0", prefix=settings.redis.prefix)}
    )
    response = await _health(down)
    assert response.status_code == 503
    assert response.json()["redis"] == "down" and response.json()["database"] == "ok"
    assert response.json()["detail"] == "down: redis"


async def test_database_down_is_named(settings: Settings) -> None:
    down = settings.model_copy(
        update={"db": DatabaseSettings(url="postgresql+asyncpg://postgres@127.0.0.1:1/nothing")}
    )
    response = await _health(down)
    assert response.status_code == 503
    assert response.json()["database"] == "down" and response.json()["redis"] == "ok"
