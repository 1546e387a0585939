"""The service-level history's per-quarter-hour rollup: counted once, kept exact.

Every zone Hotline serves is offset from UTC by whole quarter hours, so each report
interval (`15m` ... `quarter`, wall-clock) is a union of UTC quarter hours. `sl_rollup`
holds the counts of `history_sql.count_columns` per quarter hour (`bucket` = epoch // 900),
queue and (T, S); `sl_rollup_done` says which quarter hours are counted. Every write of a
queue entry marks its quarter hour (`sl_dirty`, by triggers on `queue_entries` in the
transaction of the change: the recorder's writes, and any other). A report first counts
again, from the entries, the quarter hours of its range that are marked or were never
counted (the open quarter hour is marked by every call that joins it), stores them,
removes the marks it has read, then reads the rollup. A mark committed after the report's
snapshot stays for the next one, so a figure is never older than the report's own
reading: an open interval is exact. Changing T or S (the settings) counts the range again
once, for the new (T, S).
"""

from __future__ import annotations

import json
from bisect import bisect_right
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any

from sqlalchemy import BigInteger, Integer, cast, delete, func, insert, or_, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from crm.models import QueueEntry, SlDirty, SlRollup, SlRollupDone
from crm.supervisor.history_sql import (
    LONGEST_AT,
    SUM_AT,
    Counts,
    add_counts,
    aggregate,
    count_columns,
)
from crm.supervisor.intervals import Interval, interval_start, interval_starts

BUCKET_S = 900
CHUNK_BUCKETS = 31 * 96  # a month of quarter hours: the rollup's rows read a month at a time
# Quarter hours counted from the entries at a time: a week's groups (one row per quarter
# hour and queue) are what the process holds while counting, however many calls.
COUNT_BUCKETS = 7 * 96
MAX_RANGES = 64  # more scattered quarter hours to count: one scan over their span instead


def bucket_of(at: datetime | None) -> int | None:
    return None if at is None else int(at.timestamp() // BUCKET_S)


def _bucket_column(dialect: str) -> Any:
    if dialect == "postgresql":
        epoch = func.floor(func.extract("epoch", QueueEntry.joined_at) / BUCKET_S)
        return cast(epoch, BigInteger)
    return cast(func.strftime("%s", QueueEntry.joined_at), Integer) // BUCKET_S


def _ranges(buckets: list[int]) -> list[tuple[int, int]]:
    """Consecutive buckets as [lo, hi) ranges."""
    ranges: list[tuple[int, int]] = []
    for b in buckets:
        if ranges and ranges[-1][1] == b:
            ranges[-1] = (ranges[-1][0], b + 1)
        else:
            ranges.append((b, b + 1))
    return ranges


def _at(bucket: int) -> datetime:
    return datetime.fromtimestamp(bucket * BUCKET_S, UTC)


def _in_ranges(column: Any, ranges: Iterable[tuple[int, int]], as_time: bool) -> Any:
    return or_(
        *(
            (column >= (_at(lo) if as_time else lo)) & (column < (_at(hi) if as_time else hi))
            for lo, hi in ranges
        )
    )


def _numbers(row: Iterable[Any]) -> Counts:
    numbers = list(row)
    numbers[SUM_AT] = float(numbers[SUM_AT] or 0.0)
    numbers[LONGEST_AT] = float(numbers[LONGEST_AT] or 0.0)
    return numbers


async def refresh(engine: AsyncEngine, lo: int, hi: int, threshold_s: int, short_s: int) -> bool:
    """Count again the quarter hours of [lo, hi) that are marked or were never counted.

    One snapshot for the whole refresh (PostgreSQL: REPEATABLE READ; SQLite: one
    transaction): the marks it deletes are those it saw, whose changes its count saw.
    False when it could not (another refresh or writer in the way): the caller then
    counts from the entries."""
    dialect = engine.dialect.name
    options = {"isolation_level": "REPEATABLE READ"} if dialect == "postgresql" else {}
    try:
        async with engine.connect() as conn:
            conn = await conn.execution_options(**options)
            async with conn.begin():
                if dialect == "postgresql":
                    await conn.execute(text("SET LOCAL jit = off"))
                in_range = (SlDirty.bucket >= lo) & (SlDirty.bucket < hi)
                marked = (
                    await conn.execute(
                        select(SlDirty.bucket, func.max(SlDirty.id))
                        .where(in_range)
                        .group_by(SlDirty.bucket)
                    )
                ).all()
                done = set(
                    await conn.scalars(
                        select(SlRollupDone.bucket).where(
                            SlRollupDone.bucket >= lo,
                            SlRollupDone.bucket < hi,
                            SlRollupDone.threshold_s == threshold_s,
                            SlRollupDone.short_abandon_s == short_s,
                        )
                    )
                )
                needed = {b for b, _ in marked} | (set(range(lo, hi)) - done)
                if not needed:
                    return True
                ranges = _ranges(sorted(needed))
                if len(ranges) > MAX_RANGES:
                    ranges = [(ranges[0][0], ranges[-1][1])]
                await _count(conn, dialect, ranges, threshold_s, short_s)
                if marked:
                    last = max(row_id for _, row_id in marked)
                    await conn.execute(delete(SlDirty).where(in_range, SlDirty.id <= last))
        return True
    except DBAPIError:
        # A serialisation failure (two refreshes at once), a locked SQLite file...
        return False


def _parts(ranges: list[tuple[int, int]], size: int) -> list[list[tuple[int, int]]]:
    """The ranges cut into groups of at most `size` buckets in all, in order.

    >>> _parts([(0, 5), (7, 8), (10, 14)], 4)
    [[(0, 4)], [(4, 5), (7, 8), (10, 12)], [(12, 14)]]
    """
    parts: list[list[tuple[int, int]]] = [[]]
    room = size
    for lo, hi in ranges:
        while lo < hi:
            if room == 0:
                parts.append([])
                room = size
            take = min(hi - lo, room)
            parts[-1].append((lo, lo + take))
            lo += take
            room -= take
    return [part for part in parts if part]


async def _count(
    conn: AsyncConnection,
    dialect: str,
    ranges: list[tuple[int, int]],
    threshold_s: int,
    short_s: int,
) -> None:
    """Count the quarter hours of `ranges` from the entries into the rollup, a week of
    them at a time (counting a year never holds the year's groups)."""
    for part in _parts(ranges, COUNT_BUCKETS):
        await _count_part(conn, dialect, part, threshold_s, short_s)


async def _count_part(
    conn: AsyncConnection,
    dialect: str,
    ranges: list[tuple[int, int]],
    threshold_s: int,
    short_s: int,
) -> None:
    bucket = _bucket_column(dialect).label("bucket")
    query = (
        select(bucket, QueueEntry.queue, *count_columns(threshold_s, short_s))
        .where(_in_ranges(QueueEntry.joined_at, ranges, as_time=True))
        .group_by(bucket, QueueEntry.queue)
    )
    rows = (await conn.execute(query)).all()
    key = (SlRollup.threshold_s == threshold_s) & (SlRollup.short_abandon_s == short_s)
    await conn.execute(delete(SlRollup).where(key, _in_ranges(SlRollup.bucket, ranges, False)))
    done_key = (SlRollupDone.threshold_s == threshold_s) & (SlRollupDone.short_abandon_s == short_s)
    await conn.execute(
        delete(SlRollupDone).where(done_key, _in_ranges(SlRollupDone.bucket, ranges, False))
    )
    values = [
        {
            "bucket": int(row[0]),
            "queue": row[1],
            "threshold_s": threshold_s,
            "short_abandon_s": short_s,
            "counts": _numbers(row[2:]),
        }
        for row in rows
    ]
    for start in range(0, len(values), 5000):
        await conn.execute(insert(SlRollup), values[start : start + 5000])
    done = [
        {"bucket": b, "threshold_s": threshold_s, "short_abandon_s": short_s}
        for lo, hi in ranges
        for b in range(lo, hi)
    ]
    for start in range(0, len(done), 5000):
        await conn.execute(insert(SlRollupDone), done[start : start + 5000])


def whole_quarter_hours(start: datetime, end: datetime, tz: tzinfo) -> bool:
    """The zone's offset is whole quarter hours over [start, end] (checked every day and at
    both ends: offsets change at most a few times a year)."""
    at = start
    while at < end:
        offset = at.astimezone(tz).utcoffset() or timedelta()
        if offset.total_seconds() % BUCKET_S:
            return False
        at += timedelta(days=1)
    offset = end.astimezone(tz).utcoffset() or timedelta()
    return offset.total_seconds() % BUCKET_S == 0


async def aggregate_rolled(
    engine: AsyncEngine,
    start: datetime,
    end: datetime,
    interval: Interval,
    tz: tzinfo,
    threshold_s: int,
    short_s: int,
    queue: str | None = None,
    starts: list[datetime] | None = None,
) -> dict[tuple[datetime, str], Counts]:
    """`history_sql.aggregate`'s counts from the rollup: the whole quarter hours of the
    range from `sl_rollup` (refreshed first), the parts at either end from the entries."""
    lo = -(-int(start.timestamp()) // BUCKET_S)  # the first whole quarter hour
    hi = int(end.timestamp()) // BUCKET_S
    if _at(lo) < start:
        lo += 1
    if starts is None:
        starts = list(interval_starts(start, end, interval, tz))
    counts: dict[tuple[datetime, str], Counts] = {}

    def add(begin: datetime, name: str, numbers: Counts) -> None:
        counts[(begin, name)] = add_counts(counts.get((begin, name)), numbers)

    edges = [(start, min(_at(lo), end))] if lo < hi else [(start, end)]
    if lo < hi:
        edges.append((_at(hi), end))
        if not await refresh(engine, lo, hi, threshold_s, short_s):
            return await aggregate(engine, start, end, interval, tz, threshold_s, short_s, queue)
        # One JSON array of the rows of each month, decoded at once (a row each cost more
        # than the rest); a month at a time, so a year's quarter hours are never all held.
        if engine.dialect.name == "postgresql":
            rows_json = func.json_agg(
                func.json_build_array(SlRollup.bucket, SlRollup.queue, SlRollup.counts)
            )
        else:
            rows_json = func.json_group_array(
                func.json_array(SlRollup.bucket, SlRollup.queue, func.json(SlRollup.counts))
            )
        bounds = [begin.timestamp() for begin in starts]
        utc_starts = [begin.astimezone(UTC) for begin in starts]
        async with engine.connect() as conn:
            for part in range(lo, hi, CHUNK_BUCKETS):
                where = [
                    SlRollup.bucket >= part,
                    SlRollup.bucket < min(part + CHUNK_BUCKETS, hi),
                    SlRollup.threshold_s == threshold_s,
                    SlRollup.short_abandon_s == short_s,
                ]
                if queue:
                    where.append(SlRollup.queue == queue)
                text_rows = await conn.scalar(select(rows_json).where(*where))
                decoded = (
                    text_rows if isinstance(text_rows, list) else json.loads(text_rows or "[]")
                )
                for b, name, numbers in decoded:
                    add(utc_starts[bisect_right(bounds, b * BUCKET_S) - 1], name, numbers)
    edge_rows = []
    async with engine.connect() as conn:
        for edge_start, edge_end in edges:
            if edge_start >= edge_end:
                continue
            query = (
                select(QueueEntry.queue, *count_columns(threshold_s, short_s))
                .where(QueueEntry.joined_at >= edge_start, QueueEntry.joined_at < edge_end)
                .group_by(QueueEntry.queue)
            )
            if queue:
                query = query.where(QueueEntry.queue == queue)
            begin = interval_start(edge_start, interval, tz).astimezone(UTC)
            edge_rows += [(begin, row) for row in (await conn.execute(query)).all()]
    for begin, row in edge_rows:
        add(begin, row[0], _numbers(row[1:]))
    return counts
