"""Migrations build the schema from an empty database and match the models."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from crm.db import make_engine
from crm.migrate import downgrade, upgrade
from crm.models import Base
from tests.conftest import _pg_admin


def _diff(url: str) -> list[object]:
    async def run() -> list[object]:
        engine = make_engine(url)
        try:
            async with engine.connect() as conn:
                return await conn.run_sync(
                    lambda sync: compare_metadata(MigrationContext.configure(sync), Base.metadata)
                )
        finally:
            await engine.dispose()

    return asyncio.run(run())


def _tables(url: str) -> set[str]:
    async def run() -> set[str]:
        engine = make_engine(url)
        try:
            async with engine.connect() as conn:
                return set(await conn.run_sync(lambda sync: inspect(sync).get_table_names()))
        finally:
            await engine.dispose()

    return asyncio.run(run())


def test_sqlite_from_empty_to_head_and_back(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}"
    upgrade(url)
    assert {"tickets", "calls", "ticket_events", "alembic_version"} <= _tables(url)
    assert _diff(url) == []
    downgrade(url, "base")
    assert _tables(url) == {"alembic_version"}


@pytest.mark.postgres
def test_postgresql_from_empty_to_head_and_back() -> None:
    # A name of this run's own: two runs on one server must not drop each other's database.
    name = f"hotline_migration_probe_{uuid.uuid4().hex[:8]}"
    asyncio.run(_pg_admin(f'CREATE DATABASE "{name}"'))
    from tests.conftest import PG_SERVER

    url = PG_SERVER.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://") + "/" + name
    try:
        upgrade(url)
        assert {"tickets", "calls", "ticket_events"} <= _tables(url)
        assert _diff(url) == []
        downgrade(url, "base")
        assert _tables(url) == {"alembic_version"}
    finally:
        asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
