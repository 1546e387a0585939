"""`hotline run`: the API, the AGI server, the tracker with the recorder and the worker in
one process, on real Redis, against the simulated Asterisk; a call goes all the way."""

from __future__ import annotations

import gc
from pathlib import Path

import pytest
from redis.asyncio import Redis

from hotline.bootstrap.agi import GC_THRESHOLDS
from tests.conftest import REDIS_TEST_URL, redis_settings
from tests.deploy.running import hotline_run, until

pytestmark = pytest.mark.redis
RUN_REDIS_URL = REDIS_TEST_URL.rsplit("/", 1)[0] + "/12"  # a database of its own


@pytest.mark.usefixtures("heap_restored")
async def test_every_component_runs_in_one_process_and_stops_cleanly(tmp_path: Path) -> None:
    redis = Redis.from_url(RUN_REDIS_URL)
    await redis.flushdb()
    gc.unfreeze()
    async with hotline_run(
        tmp_path / "hotline.db",
        redis_settings(RUN_REDIS_URL),
        channelvars=("UIN", "TICKET_ID", "TRANSFER_COUNT"),
        settle_heap=True,
    ) as run:
        # Started as `hotline agi` is: the start-up objects out of the collector's way.
        assert gc.get_freeze_count() > 0
        assert gc.get_threshold() == GC_THRESHOLDS
        run.sim.add_agent("agent1", "hotline", answer_delay_s=2, talk_s=30)
        call = run.sim.place_call("79001234567", "Alice", patience_s=120)
        await run.sim.run_for(120)
        linkedid = call.truth.linkedid
        assert call.truth.outcome == "answered" and call.truth.agi_status == "SUCCESS"

        async def recorded() -> bool:
            reply = await run.api.get(f"/api/calls/{linkedid}")
            return reply.status_code == 200 and reply.json().get("uin") is not None

        await until(recorded)
        uin = (await run.api.get(f"/api/calls/{linkedid}")).json()["uin"]
        assert uin == call.truth.variables["UIN"], "the ticket the caller was told"
        ticket = (await run.api.get(f"/api/tickets/{uin}")).json()
        assert ticket["caller_phone"] == "+79001234567"
    await redis.flushdb()
    await redis.aclose()
