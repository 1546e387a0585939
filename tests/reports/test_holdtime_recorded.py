"""Asterisk's whole-second wait (`HoldTime`) travels from the tracker's facts into SQL, so
the history's perf/perf2 equal app_queue's `ServicelevelPerf`/`ServicelevelPerf2`."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from callqueue.replay import replay_sessions
from core.ami.parser import AmiParser
from core.facts import CallAbandoned, CallAnswered
from crm.db import make_engine, make_sessionmaker
from crm.models import QueueEntry
from crm.recorder import Recorder
from crm.service import TicketService
from crm.supervisor.history import history_from_sql
from tests.conftest import TEST_KEYS
from tests.tracker.conftest import transcript

# Recorded back to back on one Asterisk (tests/fixtures/asterisk/README.md): the last
# QueueParams of 04 counts every call of 01-04.
RUN = ["01-answered", "02-slow-answer-outside-sl", "03-abandon", "04-blind-transfer-twice"]


def _hold_times() -> list[int]:
    """HoldTime of every AgentConnect and QueueCallerAbandon of the run, in order."""
    found = []
    for name in RUN:
        for message in AmiParser().feed(transcript(name).read_bytes()):
            if message.name in ("AgentConnect", "QueueCallerAbandon"):
                found.append(int(message["HoldTime"]))
    return found


def _queue_params() -> dict[str, dict[str, str]]:
    params = {}
    for message in AmiParser().feed(transcript(RUN[-1]).read_bytes()):
        if message.name == "QueueParams":
            params[message["Queue"]] = message.headers
    return params


async def test_perf_from_sql_equals_asterisks(database_url) -> None:
    facts = []
    replay_sessions([transcript(n).read_bytes() for n in RUN], on_fact=facts.append)
    waits = [f for f in facts if isinstance(f, CallAnswered | CallAbandoned)]
    assert [f.wait_whole_s for f in waits] == _hold_times()
    engine = make_engine(database_url)
    sessions = make_sessionmaker(engine)
    recorder = Recorder(None, TEST_KEYS, sessions, TicketService(sessions))  # type: ignore[arg-type]
    try:
        for fact in facts:
            await recorder.apply(fact)
        async with engine.connect() as conn:
            stored = (
                await conn.execute(select(QueueEntry.wait_whole_s).order_by(QueueEntry.joined_at))
            ).scalars()
            assert sorted(stored) == sorted(_hold_times())
        pieces = await history_from_sql(
            engine,
            datetime(1970, 1, 1, tzinfo=UTC),  # some recordings carry no Timestamp
            datetime(2100, 1, 1, tzinfo=UTC),
            "quarter",
            ZoneInfo("Europe/Moscow"),
            40,
            5,
        )
        total = json.loads("".join(pieces))["total"]
    finally:
        await engine.dispose()
    for queue, params in _queue_params().items():
        assert total[queue]["answered"] == int(params["Completed"])
        assert total[queue]["abandoned"] == int(params["Abandoned"])
        assert total[queue]["perf"] == float(params["ServicelevelPerf"]), queue
        assert total[queue]["perf2"] == float(params["ServicelevelPerf2"]), queue


@pytest.mark.parametrize("kind", [CallAnswered, CallAbandoned])
def test_a_fact_without_holdtime_still_loads(kind) -> None:
    """Facts written before `wait_whole_s` existed (on the stream at an upgrade) load."""
    fields = {"linkedid": "1.1", "queue": "hotline", "wait_s": 3.5, "at": "2026-03-02T09:00:00Z"}
    fields |= {"agent": "a1"} if kind is CallAnswered else {"position": 1, "original_position": 1}
    assert kind.model_validate(fields).wait_whole_s is None
