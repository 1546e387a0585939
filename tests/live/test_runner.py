"""`hotline tracker`: the tracker and the recorder in one process, AMI to SQL."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from crm.db import make_engine
from crm.models import QueueEntry, QueueEntryOutcome
from hotline.bootstrap.tracker import run_tracker
from hotline.cli import app
from tests.conftest import TEST_KEYS
from tests.live.conftest import tracker_settings

pytestmark = pytest.mark.redis
ROOT = Path(__file__).resolve().parents[2]


def test_the_tracker_command_is_there() -> None:
    result = CliRunner().invoke(app, ["tracker", "--help"])
    assert result.exit_code == 0
    assert "HOTLINE_AMI_HOST" in result.output
    assert "--no-recorder" in result.output


async def queue_entries(url: str) -> list[tuple[str, QueueEntryOutcome, float | None]]:
    engine = make_engine(url)
    try:
        async with engine.connect() as conn:
            rows = await conn.execute(
                select(QueueEntry.queue, QueueEntry.outcome, QueueEntry.wait_s)
            )
            return sorted((r.queue, QueueEntryOutcome(r.outcome), r.wait_s) for r in rows)
    finally:
        await engine.dispose()


async def test_calls_reach_sql_through_the_stream(settings, pbx, redis) -> None:
    settings.ami = tracker_settings(pbx).ami
    stop = asyncio.Event()
    task = asyncio.create_task(run_tracker(settings, stop, with_recorder=True))
    try:
        for _ in range(200):  # logged in and resynchronised: the heartbeat is written
            if await redis.exists(f"{TEST_KEYS.live}tracker"):
                break
            await asyncio.sleep(0.05)
        pbx.add_agent("agent1", "hotline", answer_delay_s=3, talk_s=20)
        pbx.place_call("79000000001", "Alice", patience_s=600)
        pbx.place_call("79000000002", "Bob", patience_s=7)
        await pbx.run_for(60)
        for _ in range(100):  # the recorder reads the stream on its own schedule
            rows = await queue_entries(settings.db.url)
            if len(rows) == 2 and all(r[1] is not QueueEntryOutcome.waiting for r in rows):
                break
            await asyncio.sleep(0.05)
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)
    truth = {c.caller_name: c for c in pbx.ground_truth}
    assert rows == [
        ("hotline", QueueEntryOutcome.abandoned, pytest.approx(truth["Bob"].wait_s, abs=1e-3)),
        ("hotline", QueueEntryOutcome.answered, pytest.approx(truth["Alice"].wait_s, abs=1e-3)),
    ]


async def test_hotline_tracker_reads_the_ami_settings_and_stops_on_sigterm(pbx, redis) -> None:
    import os
    import signal
    import sys

    from core.bus import FactBus
    from tests.conftest import REDIS_TEST_PREFIX, REDIS_TEST_URL, TEST_KEYS

    env = {
        **os.environ,
        "PYTHONPATH": f"{ROOT}{os.pathsep}{ROOT / 'queue'}",
        "HOTLINE_AMI_HOST": pbx.host,
        "HOTLINE_AMI_PORT": str(pbx.port),
        "HOTLINE_AMI_USER": "hotline",
        "HOTLINE_AMI_SECRET": "hotline",
        "HOTLINE_REDIS_URL": REDIS_TEST_URL,
        "HOTLINE_REDIS_PREFIX": REDIS_TEST_PREFIX,
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "hotline.cli", "tracker", "--no-recorder", env=env, cwd=ROOT
    )
    try:
        for _ in range(1200):  # start-up: imports, connect, log in, resync (slow when loaded)
            if pbx.server.sessions and all(s.authed for s in pbx.server.sessions):
                break
            await asyncio.sleep(0.05)
        assert pbx.server.sessions, "hotline tracker did not log in within 60 s"
        # The login's resync is told (its snapshots answered) before agent1 logs in: a
        # member added while the snapshots are asked for would be told first.
        for _ in range(1200):
            told = [fact.kind for fact in await FactBus(redis, TEST_KEYS).read_all()]
            if "agents_present" in told:
                break
            await asyncio.sleep(0.05)
        pbx.add_agent("agent1", "hotline", answer_delay_s=2, talk_s=10)
        pbx.place_call("79000000001", "Alice", patience_s=600)
        await pbx.run_for(30)
        kinds: list[str] = []
        for _ in range(600):
            kinds = [fact.kind for fact in await FactBus(redis, TEST_KEYS).read_all()]
            if "ended" in kinds:
                break
            await asyncio.sleep(0.05)
        # The login's resync tells the members (none yet), then agent1 logs in.
        assert kinds[:2] == ["agents_present", "agent_logged_in"]
        call_kinds = [kind for kind in kinds if not kind.startswith("agent")]
        # `started` twice: the channel made `<unknown>`, then named by its NewCallerid.
        assert call_kinds[:3] == ["started", "started", "queued"]
        assert "answered" in kinds and "ended" in kinds
    finally:
        process.send_signal(signal.SIGTERM)
        code = await asyncio.wait_for(process.wait(), 15)
    assert code == 0
