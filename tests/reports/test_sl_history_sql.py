"""The service-level history counted by the database equals the Python reference
(`service_level()` over the same entries), figure for figure, on both backends, in zones
with and without DST, across DST changes and quarter boundaries."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, insert

from crm.db import make_engine
from crm.models import Call, QueueEntry
from crm.supervisor.history import history, history_from_sql, load_entries
from crm.supervisor.intervals import INTERVALS

ZONES = ["Europe/Moscow", "Europe/Berlin", "Australia/Lord_Howe", "Asia/Kathmandu"]
# Windows holding a DST change (Berlin: 29 Mar, 25 Oct 2026; Lord Howe: 5 Apr, a
# 30-minute shift) and a quarter boundary (1 Oct).
WINDOWS = [
    (datetime(2026, 3, 28, 18, tzinfo=UTC), timedelta(hours=40)),
    (datetime(2026, 10, 24, 20, tzinfo=UTC), timedelta(hours=40)),
    (datetime(2026, 9, 30, 12, tzinfo=UTC), timedelta(hours=36)),
    (datetime(2026, 4, 4, 6, tzinfo=UTC), timedelta(hours=30)),
]

# Waits in 1/64 s: sums of them are exact in any order, so ASA is the same to the last
# digit whichever way the database adds them (the tracker's waits are microseconds: a
# sum in another order could move a rounding at the third decimal, nothing more).
waits = st.one_of(
    st.integers(min_value=0, max_value=200 * 64),
    st.integers(min_value=39 * 64, max_value=41 * 64),  # about T = 40 s
    st.integers(min_value=4 * 64, max_value=6 * 64),  # about S = 5 s
    st.sampled_from([15 * 64 * k for k in range(10)]),  # on a bucket's edge
).map(lambda n: n / 64)
entries = st.lists(
    st.tuples(
        st.sampled_from(["hotline", "support"]),
        st.floats(min_value=0, max_value=1, allow_nan=False),  # where in the window
        st.sampled_from(["answered", "abandoned", "waiting"]),
        waits,
        st.sampled_from(["hold_time", "none", "off_by_one"]),  # what HoldTime says
    ),
    max_size=60,
)


def _whole(wait_s: float, kind: str) -> int | None:
    if kind == "none":
        return None  # recorded before HoldTime was stored: the float wait truncated
    # app_queue's HoldTime is a difference of truncated clock seconds: int(wait) or one more
    return int(wait_s) + (kind == "off_by_one")


async def _store(url: str, window: tuple[datetime, timedelta], generated: list) -> None:
    begin, length = window
    engine = make_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.execute(delete(QueueEntry))
            await conn.execute(delete(Call))
            for n, (queue, where, outcome, wait_s, kind) in enumerate(generated):
                joined = begin + length * where
                (call_id,) = (
                    await conn.execute(
                        insert(Call)
                        .values(linkedid=f"h.{n}", outcome="in_progress", transfer_count=0)
                        .returning(Call.id)
                    )
                ).one()
                await conn.execute(
                    insert(QueueEntry).values(
                        call_id=call_id,
                        entry=1,
                        queue=queue,
                        joined_at=joined,
                        outcome=outcome,
                        wait_s=None if outcome == "waiting" else wait_s,
                        wait_whole_s=None if outcome == "waiting" else _whole(wait_s, kind),
                    )
                )
    finally:
        await engine.dispose()


async def _both(url, window, zone, interval, queue, rollup=True):
    tz = ZoneInfo(zone)
    begin, length = window
    start = begin + timedelta(minutes=7)  # not on an interval's edge
    end = begin + length
    engine = make_engine(url)
    try:
        rows = await load_entries(engine, start, end, queue)
        expected = history(rows, start, end, interval, tz, 40, 5)
        pieces = await history_from_sql(
            engine, start, end, interval, tz, 40, 5, queue, rollup=rollup
        )
        got = json.loads("".join(pieces))
    finally:
        await engine.dispose()
    return json.loads(json.dumps(expected)), got


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    generated=entries,
    window=st.sampled_from(WINDOWS),
    zone=st.sampled_from(ZONES),
    interval=st.sampled_from(INTERVALS),
    queue=st.sampled_from([None, "support", "nowhere"]),
    rollup=st.booleans(),
)
def test_sql_history_equals_the_reference(
    database_url, generated, window, zone, interval, queue, rollup
) -> None:
    # Every example replaces the entries of the last: the rollup's marks must catch it.
    asyncio.run(_store(database_url, window, generated))
    expected, got = asyncio.run(_both(database_url, window, zone, interval, queue, rollup))
    assert got == expected


@pytest.mark.parametrize(
    ("zone", "counts"),
    [
        # 2025-12-31 21:07 UTC is 22:07 on 31 Dec in Berlin: one day (and quarter, month) more
        ("Europe/Berlin", {"day": 366, "quarter": 5, "month": 13, "week": 53}),
        ("Europe/Moscow", {"day": 365, "quarter": 4, "month": 12, "week": 53}),
    ],
)
def test_a_year_by_day_and_quarter(database_url, zone, counts) -> None:
    """Every day of a year has its interval (DST days too) and the quarters meet at the
    zone's midnight."""
    generated = [("hotline", i / 400, "answered", float(i % 90), "hold_time") for i in range(400)]
    window = (datetime(2025, 12, 31, 21, tzinfo=UTC), timedelta(days=365))
    asyncio.run(_store(database_url, window, generated))
    for interval, count in counts.items():
        expected, got = asyncio.run(_both(database_url, window, zone, interval, None))
        assert got == expected
        assert len(got["series"]) == count
        assert got["total"]["all"]["offered"] == 399  # the first joined before `from`


def test_interval_examples() -> None:
    """The examples in `crm.supervisor.intervals`' docstring hold."""
    import doctest

    import crm.supervisor.intervals

    result = doctest.testmod(crm.supervisor.intervals, raise_on_error=False)
    assert result.attempted >= 2 and result.failed == 0


@pytest.mark.parametrize(
    ("zone", "at", "interval", "start", "end"),
    [
        # Berlin, 25 Oct 2026: 02:00-03:00 happens twice; both are the one 02:00 interval
        (
            "Europe/Berlin",
            "2026-10-25T00:30:00+00:00",
            "hour",
            "2026-10-25T02:00:00+02:00",
            "2026-10-25T03:00:00+01:00",
        ),
        (
            "Europe/Berlin",
            "2026-10-25T01:30:00+00:00",
            "hour",
            "2026-10-25T02:00:00+02:00",
            "2026-10-25T03:00:00+01:00",
        ),
        # Berlin, 29 Mar 2026: 02:00-03:00 never happens
        (
            "Europe/Berlin",
            "2026-03-29T00:59:00+00:00",
            "15m",
            "2026-03-29T01:45:00+01:00",
            "2026-03-29T03:00:00+02:00",
        ),
        (
            "Europe/Moscow",
            "2026-09-30T21:00:00+00:00",
            "quarter",
            "2026-10-01T00:00:00+03:00",
            "2027-01-01T00:00:00+03:00",
        ),
        (
            "Europe/Moscow",
            "2026-07-05T20:59:00+00:00",
            "week",
            "2026-06-29T00:00:00+03:00",
            "2026-07-06T00:00:00+03:00",
        ),
        (
            "Asia/Kathmandu",
            "2026-01-31T18:15:00+00:00",
            "month",
            "2026-02-01T00:00:00+05:45",
            "2026-03-01T00:00:00+05:45",
        ),
    ],
)
def test_interval_edges(zone, at, interval, start, end) -> None:
    from crm.supervisor.intervals import interval_start, next_start

    tz = ZoneInfo(zone)
    begin = interval_start(datetime.fromisoformat(at), interval, tz)
    assert begin.isoformat() == start
    assert next_start(begin, interval, tz).isoformat() == end
