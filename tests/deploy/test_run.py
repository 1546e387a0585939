"""`hotline run`: the API, the AGI server, the tracker with the recorder and the worker in
one process, on real Redis, against the simulated Asterisk; a call goes all the way."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import httpx
import pytest
from redis.asyncio import Redis

from asterisksim import SimConfig, SimulatedAsterisk
from core.settings import (
    AmiSettings,
    ApiSettings,
    CalendarSettings,
    CrmClientSettings,
    DatabaseSettings,
    Settings,
)
from crm.migrate import upgrade
from hotline.demo.stack import free_port
from hotline.run import RunOptions, run_all
from ivr.catalogue import all_sound_files
from tests.conftest import REDIS_TEST_URL, ROOT, TEST_KEYS, TOKENS, auth, redis_settings

pytestmark = pytest.mark.redis
RUN_REDIS_URL = REDIS_TEST_URL.rsplit("/", 1)[0] + "/12"  # a database of its own


async def _until(check, timeout_s: float = 15.0) -> None:  # type: ignore[no-untyped-def]
    async with asyncio.timeout(timeout_s):
        while not await check():  # noqa: ASYNC110 - another process's state, over HTTP
            await asyncio.sleep(0.05)


async def test_every_component_runs_in_one_process_and_stops_cleanly(tmp_path: Path) -> None:
    database_url = f"sqlite+aiosqlite:///{tmp_path / 'hotline.db'}"
    await asyncio.to_thread(upgrade, database_url)
    redis = Redis.from_url(RUN_REDIS_URL)
    await redis.flushdb()
    config = SimConfig(
        # the recorder runs on the wall clock: simulated calls must not look hours old
        start_s=time.time(),
        timestampevents=True,
        channelvars=("UIN", "TICKET_ID", "TRANSFER_COUNT"),
        prompts=frozenset(all_sound_files()),
    )
    async with SimulatedAsterisk(config) as sim:
        api_port, agi_port = free_port(), free_port()
        settings = Settings(
            db=DatabaseSettings(url=database_url),
            redis=redis_settings(RUN_REDIS_URL),
            api=ApiSettings(tokens=",".join(f"{r}:{t}" for r, t in TOKENS.items())),
            # generous: a loaded CI machine must not send this caller down the stock path
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
        )
        stop = asyncio.Event()
        running = asyncio.create_task(run_all(settings, options, stop))
        api = httpx.AsyncClient(base_url=f"http://127.0.0.1:{api_port}", headers=auth("agent"))
        try:

            async def healthy() -> bool:
                try:
                    return (await api.get("/api/health")).status_code == 200
                except httpx.TransportError:
                    return False

            await _until(healthy)
            # the tracker is logged in once the live heartbeat is written
            await _until(lambda: redis.exists(f"{TEST_KEYS.live}tracker"))
            sim.config.agi_url = f"agi://127.0.0.1:{agi_port}/hotline"
            sim.add_agent("agent1", "hotline", answer_delay_s=2, talk_s=30)
            call = sim.place_call("79001234567", "Alice", patience_s=120)
            await sim.run_for(120)
            linkedid = call.truth.linkedid
            assert call.truth.outcome == "answered" and call.truth.agi_status == "SUCCESS"

            async def recorded() -> bool:
                reply = await api.get(f"/api/calls/{linkedid}")
                return reply.status_code == 200 and reply.json().get("uin") is not None

            await _until(recorded)
            uin = (await api.get(f"/api/calls/{linkedid}")).json()["uin"]
            assert uin == call.truth.variables["UIN"], "the ticket the caller was told"
            ticket = (await api.get(f"/api/tickets/{uin}")).json()
            assert ticket["caller_phone"] == "+79001234567"
        finally:
            stop.set()
            await asyncio.wait_for(running, 30)
            await api.aclose()
    assert running.exception() is None
    await redis.flushdb()
    await redis.aclose()
