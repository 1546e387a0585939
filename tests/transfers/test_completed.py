"""The history's `completed` means what the tracker's means (and `QueueParams`'
`Completed`): an answered entry whose agent's talk Asterisk ended (`AgentComplete`).

The recorded real Asterisk sessions (transfers, an entry still talking at the end of
08) go through the tracker; its facts through the recorder into SQL; the SQL history and
the tracker count the same entries as completed, per queue."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from redis.asyncio import Redis

from callqueue.replay import replay_sessions
from core.facts import CallFact
from core.service_level import service_level
from core.settings import Settings
from crm.db import make_engine, make_sessionmaker
from crm.recorder import Recorder
from crm.service import TicketService
from crm.supervisor.history import history, load_entries
from tests.conftest import TEST_KEYS

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "asterisk"
SESSIONS = (
    "01-answered",
    "02-slow-answer-outside-sl",
    "03-abandon",
    "04-blind-transfer-twice",
    "05-attended-transfer",
    "08-production-sample",
)


async def test_completed_is_the_same_in_sql_and_in_the_tracker(
    settings: Settings, redis: Redis
) -> None:
    facts: list[CallFact] = []
    tracker = replay_sessions(
        ((FIXTURES / f"{name}.txt").read_bytes() for name in SESSIONS), on_fact=facts.append
    )
    assert any(f.kind == "completed" for f in facts)
    engine = make_engine(settings.db.url)
    sessions = make_sessionmaker(engine)
    recorder = Recorder(redis, TEST_KEYS, sessions, TicketService(sessions))
    try:
        assert await recorder.apply_many(facts) > 0
        start = datetime(1970, 1, 1, tzinfo=UTC)  # 01-05 carry no timestamps
        end = datetime.now(UTC) + timedelta(days=3650)
        rows = await load_entries(engine, start, end, None)
    finally:
        await engine.dispose()
    entries = tracker.entries()
    tracked = service_level([e.as_outcome() for e in entries], 40, 5)
    sql = history(rows, start, end, "quarter", UTC, 40, 5)["total"]
    assert set(sql) == set(tracked)
    for queue, figures in tracked.items():
        assert sql[queue]["completed"] == figures["completed"], queue
        assert sql[queue]["answered"] == figures["answered"], queue
    # Not a trivial agreement: without the `completed` fact SQL counted none.
    everyone = tracked["all"]
    assert 0 < everyone["completed"] <= everyone["answered"]
