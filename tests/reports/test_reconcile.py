"""`hotline reconcile queue-log`: Hotline's record against Asterisk's queue_log.

Two sources of truth: the simulator's queue_log (written from its queue events, as
app_queue writes one) beside the same run recorded through the tracker and the recorder;
and a real Asterisk 22's recorded AMI session of a busy period (tests/fixtures/
asterisk-tier), whose queue_log lines are made from its own queue events. Zero of every
difference on both; a deleted entry, a changed wait and an unknown entry are each found."""

from __future__ import annotations

import asyncio
import json
import math
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import delete, select, update
from typer.testing import CliRunner

from asterisksim.queue_log import QueueLogWriter
from callqueue.replay import replay_sessions
from core.ami.parser import AmiParser
from core.bus import FactBus
from crm.db import make_engine, make_sessionmaker
from crm.models import QueueEntry
from crm.reconcile.queue_log import read_queue_log
from crm.recorder import Recorder
from crm.service import TicketService
from hotline.cli import app
from tests.conftest import TEST_KEYS
from tests.live.conftest import pbx, redis, running_tracker  # noqa: F401 (fixtures)

pytestmark = pytest.mark.redis
TIER = Path(__file__).resolve().parents[1] / "fixtures" / "asterisk-tier"


async def _record(url: str, facts) -> None:
    engine = make_engine(url)
    sessions = make_sessionmaker(engine)
    recorder = Recorder(None, TEST_KEYS, sessions, TicketService(sessions))  # type: ignore[arg-type]
    try:
        for start in range(0, len(facts), 200):
            await recorder.apply_many(facts[start : start + 200])
    finally:
        await engine.dispose()


def _reconcile(settings, path: Path, *extra: str):
    """The command, in a thread of its own (it runs its own event loop)."""
    result = CliRunner().invoke(
        app,
        ["reconcile", "queue-log", str(path), "--json", *extra],
        env={"HOTLINE_DATABASE_URL": settings.db.url},
    )
    assert result.exit_code in (0, 1), (result.output, result.exception)
    assert result.stdout.strip(), (result.output, result.exception, result.exc_info)
    return result.exit_code, json.loads(result.stdout.strip().splitlines()[-1])


async def _change(url: str) -> None:
    """One entry lost, one wait off by 3 s, one entry Asterisk never had."""
    engine = make_engine(url)
    try:
        async with engine.begin() as conn:
            ids = list(await conn.scalars(select(QueueEntry.id).order_by(QueueEntry.joined_at)))
            await conn.execute(delete(QueueEntry).where(QueueEntry.id == ids[0]))
            await conn.execute(
                update(QueueEntry)
                .where(QueueEntry.id == ids[1])
                .values(wait_s=QueueEntry.wait_s + 3.0)
            )
            moved = await conn.scalar(select(QueueEntry.joined_at).where(QueueEntry.id == ids[2]))
            call_id = await conn.scalar(select(QueueEntry.call_id).where(QueueEntry.id == ids[2]))
            await conn.execute(
                QueueEntry.__table__.insert().values(
                    call_id=call_id,
                    entry=9,
                    queue="hotline",
                    joined_at=moved + timedelta(seconds=20.5),
                    outcome="abandoned",
                    wait_s=1.0,
                )
            )
    finally:
        await engine.dispose()


async def test_the_simulators_queue_log_and_its_record_agree(
    settings,
    pbx,  # noqa: F811
    redis,  # noqa: F811
    tmp_path,
) -> None:
    path = tmp_path / "queue_log"
    log = pbx.write_queue_log(path)  # appended line by line, as app_queue does
    await pbx.run_until(math.ceil(pbx.now()) + 1)
    async with running_tracker(pbx, redis) as service:
        pbx.add_agent("agent1", "hotline", answer_delay_s=3, talk_s=30)
        pbx.add_agent("agent2", "hotline", answer_delay_s=20, talk_s=30)  # rings out
        for n in range(8):
            pbx.place_call(f"7900000000{n}", f"Caller {n}", use_agi=False, patience_s=25 + 5 * n)
            await pbx.run_for(4)
        await pbx.run_for(400)
        await service.outbox.drained(5)
    facts = await FactBus(redis, TEST_KEYS).read_all(count=10_000)
    await _record(settings.db.url, facts)
    log.close()
    assert path.read_text() == log.text()
    events = {line.split("|")[4] for line in log.lines}
    assert {"ENTERQUEUE", "CONNECT", "ABANDON", "COMPLETEAGENT", "RINGNOANSWER"} <= events

    code, report = await asyncio.to_thread(_reconcile, settings, path)
    assert (code, report["asterisk_entries"], report["matched"]) == (0, 8, 8)
    for found in ("missing_in_hotline", "unknown_to_asterisk", "wait_differences"):
        assert report[found] == [], found
    assert report["ok"]

    await _change(settings.db.url)
    code, report = await asyncio.to_thread(_reconcile, settings, path)
    assert code == 1 and not report["ok"]
    assert len(report["missing_in_hotline"]) == 1
    assert len(report["unknown_to_asterisk"]) == 1
    [wait] = report["wait_differences"]
    assert wait["difference_s"] == pytest.approx(3.0, abs=1.0)


async def test_a_real_asterisk_busy_period_recorded_agrees(settings, tmp_path) -> None:
    data = (TIER / "busy-period.ami.txt").read_bytes()
    facts = []
    replay_sessions([data], on_fact=facts.append)
    await _record(settings.db.url, facts)
    log = QueueLogWriter()
    for message in AmiParser().feed(data):
        if message.is_event and message.headers.get("Timestamp"):
            headers = {key: message.get(key) for key in message.headers}
            log.on_event(message.name, headers, float(message.headers["Timestamp"]))
    path = tmp_path / "queue_log"
    path.write_text(log.text())
    entries = len(read_queue_log(log.lines).entries)
    assert entries == 32  # the busy period: 32 callers, each in the queue once
    code, report = await asyncio.to_thread(_reconcile, settings, path)
    assert report["matched"] == report["hotline_entries"] == entries, report
    assert report["ok"] and code == 0, report


def test_bad_input_is_refused(settings, tmp_path) -> None:
    result = CliRunner().invoke(
        app,
        ["reconcile", "queue-log", str(tmp_path / "absent")],
        env={"HOTLINE_DATABASE_URL": settings.db.url},
    )
    assert result.exit_code == 2 and "cannot read" in result.output
    path = tmp_path / "queue_log"
    path.write_text("1|x|hotline|NONE|ENTERQUEUE||1|1\n")
    result = CliRunner().invoke(
        app,
        ["reconcile", "queue-log", str(path), "--from", "2026-01-02", "--to", "2026-01-01"],
        env={"HOTLINE_DATABASE_URL": settings.db.url},
    )
    assert result.exit_code == 2 and "--from must be before --to" in result.output


def test_queue_log_reading() -> None:
    log = read_queue_log(
        [
            "1796602374|1.1|hotline|NONE|ENTERQUEUE||79001000000|1",
            "garbage",
            "1796602376|1.1|hotline|agent01|RINGNOANSWER|15000",
            "1796602379|1.1|hotline|agent04|CONNECT|5|1796602374.52|5",
            "1796602399|1.1|hotline|agent04|BLINDTRANSFER|300|hotline-targets|5|20|1",
            "1796602380|1.2|hotline|NONE|ENTERQUEUE||79001000001|2",
            "1796602390|1.2|hotline|NONE|EXITWITHTIMEOUT|1|2|10",
        ]
    )
    assert log.bad_lines == [2]
    first, second = log.entries
    assert (first.outcome, first.wait_s, first.talk_s, first.ended_by) == (
        "answered",
        5,
        20,
        "BLINDTRANSFER",
    )
    assert first.ring_no_answer == 1
    assert (second.outcome, second.wait_s) == ("timeout", 10)
    assert first.entered_at == datetime.fromtimestamp(1796602374, UTC)


def test_queue_log_reading_of_damaged_lines() -> None:
    """The file as bytes split at LF (as `hotline reconcile` reads it): a CRLF copy, the
    zero-filled block a crash leaves before the next line, a CR or NUL inside a line
    (skipped and named), a withdrawn caller."""
    log = read_queue_log(
        (
            b"1796602374|1.1|hotline|NONE|ENTERQUEUE||79001000000|1\r\n"
            b"\0\0\0\x001796602376|1.1|hotline|NONE|ABANDON|1|1|2\r\n"
            b"1796602380|1.2|hotline|NONE|ENTERQUEUE||79001000001|1\r|x\n"
            b"1796602380|1.3|hot\0line|NONE|ENTERQUEUE||79001000002|1\n"
            b"1796602381|1.4|hotline|NONE|ENTERQUEUE||79001000003|1\n"
            b"1796602391|1.4|hotline|NONE|WITHDRAW|1|1|10|callback\n"
        ).split(b"\n")
    )
    assert log.bad_lines == [3, 4]
    first, withdrawn = log.entries
    assert (first.callid, first.outcome, first.wait_s) == ("1.1", "abandoned", 2)
    assert (withdrawn.outcome, withdrawn.wait_s) == ("withdrawn", 10)
