"""The service-level rollup stays exact: every change of a queue entry after a report
(the recorder's updates, a deletion, an entry of the open quarter hour) shows in the
next one; the quarter hours are counted once and read from `sl_rollup` after."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import delete, func, insert, select, update

from crm.db import make_engine
from crm.models import Call, QueueEntry, SlDirty, SlRollup, SlRollupDone
from crm.supervisor import rollup
from crm.supervisor.history import history, history_from_sql, load_entries

TZ = ZoneInfo("Europe/Moscow")
START = datetime(2026, 7, 1, 9, 3, tzinfo=UTC)  # not on a quarter hour
END = datetime(2026, 7, 1, 12, 0, tzinfo=UTC)


async def _report(engine, interval="15m"):
    pieces = await history_from_sql(engine, START, END, interval, TZ, 40, 5)
    rows = await load_entries(engine, START, END, None)
    expected = json.loads(json.dumps(history(rows, START, END, interval, TZ, 40, 5)))
    return json.loads("".join(pieces)), expected


async def _twelve_calls(engine, tag: str, outcome: str, entry_values) -> None:  # type: ignore[no-untyped-def]
    """Twelve calls 14 minutes apart from START, each with one queue entry of `outcome`
    (`waiting` for an `in_progress` call) and `entry_values(n)`."""
    async with engine.begin() as conn:
        for n in range(12):
            (call_id,) = (
                await conn.execute(
                    insert(Call)
                    .values(linkedid=f"{tag}.{n}", outcome=outcome, transfer_count=0)
                    .returning(Call.id)
                )
            ).one()
            await conn.execute(
                insert(QueueEntry).values(
                    call_id=call_id,
                    entry=1,
                    joined_at=START + timedelta(minutes=14 * n + 1),
                    outcome="waiting" if outcome == "in_progress" else outcome,
                    **entry_values(n),
                )
            )


async def test_changes_after_a_report_show_in_the_next(database_url) -> None:
    engine = make_engine(database_url)
    try:
        await _twelve_calls(
            engine, "r", "in_progress", lambda n: {"queue": "hotline" if n % 3 else "support"}
        )
        got, expected = await _report(engine)
        assert got == expected and got["total"]["all"]["waiting"] == 12
        async with engine.connect() as conn:
            assert await conn.scalar(select(func.count()).select_from(SlRollup)) > 0
            done = await conn.scalar(select(func.count()).select_from(SlRollupDone))
            assert done == 11  # 09:15 to 12:00; 09:03-09:15 is counted from the entries
            marks = list(await conn.scalars(select(SlDirty.bucket)))
            # Only 09:00's is left: that quarter hour is partly in range, counted from the
            # entries, so its mark stays for a report that covers it whole.
            assert marks == [int(START.timestamp()) // 900]
        # The recorder's kind of change: an answer, an abandon, a completion...
        async with engine.begin() as conn:
            await conn.execute(
                update(QueueEntry)
                .where(QueueEntry.id.in_(select(QueueEntry.id).limit(4)))
                .values(outcome="answered", wait_s=12.5, wait_whole_s=13, agent="a1")
            )
            await conn.execute(
                update(QueueEntry)
                .where(QueueEntry.outcome == "waiting", QueueEntry.queue == "support")
                .values(outcome="abandoned", wait_s=50.0, wait_whole_s=50)
            )
            # ...an entry moved to another quarter hour, one deleted, one joining now.
            first = await conn.scalar(select(func.max(QueueEntry.id)))
            await conn.execute(
                update(QueueEntry)
                .where(QueueEntry.id == first)
                .values(joined_at=START + timedelta(minutes=100))
            )
            await conn.execute(
                delete(QueueEntry).where(
                    QueueEntry.id == select(func.min(QueueEntry.id)).scalar_subquery()
                )
            )
        got, expected = await _report(engine)
        assert got == expected
        assert got["total"]["all"]["answered"] == 3 and got["total"]["all"]["offered"] == 11
        assert got["total"]["all"]["abandoned"] >= 1
        hourly, expected = await _report(engine, "hour")
        assert hourly == expected
    finally:
        await engine.dispose()


async def test_the_rollup_read_in_parts_gives_the_same_report(database_url, monkeypatch) -> None:
    """The rollup's quarter hours are counted a week at a time and its rows read a month at
    a time (the API process never holds a year's); parts of 5 quarter hours over these 11
    give the same report."""
    monkeypatch.setattr("crm.supervisor.rollup.CHUNK_BUCKETS", 5)
    monkeypatch.setattr("crm.supervisor.rollup.COUNT_BUCKETS", 5)
    counted: list[int] = []
    count_part = rollup._count_part

    async def recorded(conn, dialect, ranges, threshold_s, short_s):  # type: ignore[no-untyped-def]
        counted.append(sum(hi - lo for lo, hi in ranges))
        await count_part(conn, dialect, ranges, threshold_s, short_s)

    monkeypatch.setattr(rollup, "_count_part", recorded)
    engine = make_engine(database_url)
    try:
        await _twelve_calls(
            engine,
            "p",
            "answered",
            lambda n: {
                "queue": "hotline",
                "wait_s": 10.0 * n,
                "wait_whole_s": 10 * n,
                "agent": "a1",
            },
        )
        for interval in ("15m", "hour"):
            got, expected = await _report(engine, interval)
            assert got == expected and got["total"]["all"]["answered"] == 12
        assert counted == [5, 5, 1]  # counted once, in parts
    finally:
        await engine.dispose()
