"""Fixtures for the tracker service tests: a clean Redis db 15, a simulated Asterisk."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from redis.asyncio import Redis

from asterisksim import SimConfig, SimulatedAsterisk
from callqueue.service import TrackerService
from core.settings import AmiSettings, ServiceLevelSettings, Settings
from tests.conftest import REDIS_TEST_URL, redis_settings


@pytest.fixture
async def redis() -> AsyncIterator[Redis]:
    client = Redis.from_url(REDIS_TEST_URL)
    await client.flushdb()
    yield client
    await client.flushdb()
    await client.aclose()


def tracker_settings(pbx: SimulatedAsterisk) -> Settings:
    return Settings(
        ami=AmiSettings(
            host=pbx.host,
            port=pbx.port,
            user="hotline",
            secret="hotline",
            reconnect_min_s=0.02,
            reconnect_max_s=0.05,
            ping_interval_s=30,
        ),
        redis=redis_settings(),
        sl=ServiceLevelSettings(threshold_s=40, short_abandon_s=5),
    )


@asynccontextmanager
async def running_tracker(
    pbx: SimulatedAsterisk, redis: Redis, settings: Settings | None = None, **kwargs: object
) -> AsyncIterator[TrackerService]:
    """A tracker service on the simulator's clock, logged in and resynchronised."""
    settings = settings or tracker_settings(pbx)
    service = TrackerService(settings, redis, clock=pbx.now, **kwargs)  # type: ignore[arg-type]
    stop = asyncio.Event()
    task = asyncio.create_task(service.run(stop))
    try:
        await asyncio.wait_for(service.resynced.wait(), 5)
        yield service
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)


async def drop_connection(pbx: SimulatedAsterisk, service: TrackerService, outage_s: float) -> None:
    """Cut the tracker's AMI session from the server side, let `outage_s` of simulated
    time pass, then wait until the tracker is back and resynchronised.

    The accelerated simulator runs far ahead of its reader (megabytes of events wait in
    the socket buffers) and a reset throws those away: a Ping answered first makes the
    outage lose what Asterisk says during `outage_s`, as a real outage would."""
    await asyncio.wait_for(service.manager.send_action({"Action": "Ping"}), 10)
    logins = service.manager.logins
    service.resynced.clear()
    for session in list(pbx.server.sessions):
        assert session.transport is not None
        session.transport.abort()
    await pbx.run_for(outage_s)
    await asyncio.wait_for(service.resynced.wait(), 10)
    assert service.manager.logins == logins + 1


@pytest.fixture
async def pbx() -> AsyncIterator[SimulatedAsterisk]:
    async with SimulatedAsterisk(SimConfig(timestampevents=True)) as sim:
        yield sim
