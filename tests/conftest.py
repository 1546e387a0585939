"""Shared fixtures: real PostgreSQL and SQLite databases, real Redis, the CRM app.

Database tests run on both backends. PostgreSQL and Redis must be up: a missing service
fails the run (it is never skipped); `scripts/test` starts or installs them.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import httpx
import pytest
from asgi_lifespan import LifespanManager
from sqlalchemy import delete, text
from sqlalchemy.ext.asyncio import create_async_engine

from crm.migrate import upgrade
from crm.models import Base
from hotline.bootstrap import create_app
from hotline.settings import ApiSettings, DatabaseSettings, RedisSettings, Settings

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
PG_SERVER = os.environ.get("HOTLINE_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_TEST_URL = os.environ.get("HOTLINE_TEST_REDIS", "redis://127.0.0.1:6379/15")

TOKENS = {
    "agent": "agent-token-0123456789abcdef",
    "supervisor": "supervisor-token-0123456789",
    "service": "service-token-0123456789abc",
}


def auth(role: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {TOKENS[role]}"}


async def _pg_admin(sql: str) -> None:
    conn = await asyncpg.connect(PG_SERVER, timeout=10)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@pytest.fixture(scope="session")
def postgresql_url() -> Iterator[str]:
    """A fresh PostgreSQL database for this run, migrated to head, dropped afterwards."""
    name = f"hotline_test_{uuid.uuid4().hex[:8]}"
    asyncio.run(_pg_admin(f'CREATE DATABASE "{name}"'))
    base = PG_SERVER.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://", 1)
    url = f"{base}/{name}"
    upgrade(url)
    yield url
    asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="session")
def sqlite_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('db') / 'hotline.db'}"
    upgrade(url)
    return url


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest) -> Iterator[str]:
    """Each database test runs on SQLite and on PostgreSQL; rows are removed afterwards."""
    url = request.getfixturevalue(f"{request.param}_url")
    yield url
    asyncio.run(_empty(url))


async def _empty(url: str) -> None:
    engine = create_async_engine(url)
    try:
        async with engine.begin() as conn:
            for table in reversed(Base.metadata.sorted_tables):
                await conn.execute(delete(table))
            if url.startswith("postgresql"):
                await conn.execute(text("ALTER SEQUENCE uin_seq RESTART WITH 1"))
    finally:
        await engine.dispose()


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(
        db=DatabaseSettings(url=database_url),
        redis=RedisSettings(url=REDIS_TEST_URL),
        api=ApiSettings(tokens=",".join(f"{r}:{t}" for r, t in TOKENS.items())),
    )


@pytest.fixture
async def client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """The CRM app, its lifespan running, behind an in-process HTTP client."""
    app = create_app(settings)
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://crm") as http:
            yield http
