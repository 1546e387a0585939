"""`hotline run` started for a test: its own SQLite database, a simulated Asterisk on the
wall clock, every component in this process; ready once the API answers and the tracker is
logged in to the simulator."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
from redis.asyncio import Redis

from asterisksim import SimConfig, SimulatedAsterisk
from core.settings import (
    AmiSettings,
    ApiSettings,
    CalendarSettings,
    CrmClientSettings,
    DatabaseSettings,
    RedisSettings,
    Settings,
)
from crm.migrate import upgrade
from hotline.demo.stack import free_port
from hotline.run import RunOptions, run_all
from ivr.catalogue import all_sound_files
from tests.conftest import ROOT, TOKENS, auth


async def until(check: Callable[[], Awaitable[object]], timeout_s: float = 20.0) -> None:
    async with asyncio.timeout(timeout_s):
        while not await check():  # noqa: ASYNC110 - another component's state, over HTTP
            await asyncio.sleep(0.05)


@dataclass
class Running:
    settings: Settings
    sim: SimulatedAsterisk
    api: httpx.AsyncClient  # the API, as agent


@asynccontextmanager
async def hotline_run(
    database: Path,
    redis: RedisSettings,
    channelvars: tuple[str, ...],
    *,
    settle_heap: bool = False,
) -> AsyncIterator[Running]:
    """`run_all` until the block ends; then it must stop cleanly (no exception)."""
    database_url = f"sqlite+aiosqlite:///{database}"
    await asyncio.to_thread(upgrade, database_url)
    config = SimConfig(
        start_s=time.time(),  # the recorder runs on the wall clock: calls must not look old
        timestampevents=True,
        channelvars=channelvars,
        prompts=frozenset(all_sound_files()),
    )
    async with SimulatedAsterisk(config) as sim:
        api_port, agi_port = free_port(), free_port()
        settings = Settings(
            db=DatabaseSettings(url=database_url),
            redis=redis,
            api=ApiSettings(tokens=",".join(f"{r}:{t}" for r, t in TOKENS.items())),
            # generous: a loaded CI machine must not send a caller down the stock path
            crm=CrmClientSettings(
                url=f"http://127.0.0.1:{api_port}", token=TOKENS["service"], timeout_s=5.0
            ),
            ami=AmiSettings(host=sim.host, port=sim.port, user="hotline", secret="hotline"),
            calendar=CalendarSettings(hours="mon-sun 00:00-24:00", holiday_calendar="none"),
        )
        options = RunOptions(
            api_port=api_port,
            agi_port=agi_port,
            sounds_dir=ROOT / "asterisk-config" / "sounds",
            settle_heap=settle_heap,
        )
        stop = asyncio.Event()
        running = asyncio.create_task(run_all(settings, options, stop))
        api = httpx.AsyncClient(base_url=f"http://127.0.0.1:{api_port}", headers=auth("agent"))
        heartbeat = Redis.from_url(redis.url)
        try:

            async def healthy() -> bool:
                try:
                    return (await api.get("/api/health")).status_code == 200
                except httpx.TransportError:
                    return False

            await until(healthy)
            # the tracker is logged in once its live heartbeat is written
            await until(lambda: heartbeat.exists(f"{settings.redis.keys.live}tracker"))
            sim.config.agi_url = f"agi://127.0.0.1:{agi_port}/hotline"
            yield Running(settings, sim, api)
        finally:
            stop.set()
            await asyncio.wait_for(running, 30)
            await api.aclose()
            await heartbeat.aclose()
    assert running.exception() is None
