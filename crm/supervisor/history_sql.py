"""The service-level history's counts, aggregated by the database: one `GROUP BY` over
the queue entries of the range, per interval and queue.

The rows never come to Python: the database returns one row of counts per interval and
queue (at most `MAX_INTERVALS` x queues), which `crm.supervisor.history` turns into the
figures of `core.service_level` (`QueueFigures`), the same as the Python reference
(`service_level()` over the entries). "Within" on whole seconds uses the stored
`HoldTime` (`wait_whole_s`), or the float wait truncated where none is stored.
"""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo
from typing import Any

from sqlalchemy import ColumnElement, and_, func, literal_column, or_, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from core.service_level import BUCKET_S, BUCKETS, FIGURES_JSON, QueueFigures
from crm.models import QueueEntry, QueueEntryOutcome
from crm.supervisor.intervals import Interval, localize

TRUNC_UNITS = {"hour": "hour", "day": "day", "week": "week", "month": "month", "quarter": "quarter"}


def wall_start(dialect: str, interval: Interval, zone: str) -> ColumnElement[Any]:
    """The wall-clock start of each entry's interval (`crm.supervisor.intervals`' rule)."""
    joined = QueueEntry.joined_at
    if dialect == "postgresql":
        local = func.timezone(zone, joined)  # joined_at AT TIME ZONE zone: wall-clock time
        if interval == "15m":
            return func.date_bin(
                literal_column("interval '15 minutes'"),
                local,
                literal_column("timestamp '2000-01-01'"),
            )
        return func.date_trunc(TRUNC_UNITS[interval], local)
    return func.hotline_wall_start(joined, interval, zone)  # crm.db registers it on SQLite


def count_columns(threshold_s: int, short_abandon_s: int) -> list[ColumnElement[Any]]:
    """The aggregates of one group, in the order `figures_of` reads them."""
    entry = QueueEntry
    answered = entry.outcome == QueueEntryOutcome.answered
    abandoned = entry.outcome == QueueEntryOutcome.abandoned
    wait = func.coalesce(entry.wait_s, 0.0)
    # app_queue's rule on HoldTime; without one, int(wait) <= T, i.e. wait < T + 1
    whole_within = or_(
        entry.wait_whole_s <= threshold_s,
        and_(entry.wait_whole_s.is_(None), wait < threshold_s + 1),
    )

    def count(condition: ColumnElement[bool]) -> ColumnElement[int]:
        return func.count().filter(condition)

    buckets = [count(and_(answered, wait < BUCKET_S))]
    for k in range(1, BUCKETS):
        buckets.append(count(and_(answered, wait >= k * BUCKET_S, wait < (k + 1) * BUCKET_S)))
    buckets.append(count(and_(answered, wait >= BUCKETS * BUCKET_S)))
    return [
        func.count(),
        count(answered),
        count(and_(answered, wait <= threshold_s)),
        count(and_(answered, whole_within)),
        count(abandoned),
        count(and_(abandoned, wait <= short_abandon_s)),
        count(and_(abandoned, whole_within)),
        count(entry.outcome == QueueEntryOutcome.waiting),
        count(and_(answered, entry.completed_at.is_not(None))),
        func.sum(wait).filter(answered),
        func.max(wait).filter(or_(answered, abandoned)),
        *buckets,
    ]


# A group's numbers, as `count_columns` gives them: counts, the sum of answered waits at
# SUM_AT, the longest wait at LONGEST_AT, then the buckets. Plain lists add up fast.
Counts = list[Any]
SUM_AT, LONGEST_AT = 9, 10


def add_counts(total: Counts | None, more: Counts) -> Counts:
    """The numbers of two groups together (a new list)."""
    if total is None:
        return list(more)
    added = [a + b for a, b in zip(total, more, strict=True)]
    added[LONGEST_AT] = max(total[LONGEST_AT], more[LONGEST_AT])
    return added


def column_sums(rows: list[Counts]) -> Counts:
    """The numbers of many groups together (`add_counts` over them, in one pass).

    >>> column_sums([[1, 2, 0, 0, 0, 0, 0, 0, 0, 1.5, 3.0], [2, 1, 0, 0, 0, 0, 0, 0, 0, 2.0, 9.0]])
    [3, 3, 0, 0, 0, 0, 0, 0, 0, 3.5, 9.0]
    """
    columns = list(zip(*rows, strict=True))
    summed: Counts = [sum(column) for column in columns]
    summed[LONGEST_AT] = max(columns[LONGEST_AT])
    return summed


def figures_of(counts: Counts, threshold_s: int, short_abandon_s: int) -> QueueFigures:
    """A group's numbers as `QueueFigures`."""
    (offered, answered, within, within_whole, abandoned, short, abandoned_whole, waiting) = counts[
        :8
    ]
    completed = counts[8]
    return QueueFigures(
        threshold_s,
        short_abandon_s,
        offered=offered,
        answered=answered,
        answered_within=within,
        answered_within_whole_s=within_whole,
        abandoned=abandoned,
        abandoned_short=short,
        abandoned_within_whole_s=abandoned_whole,
        waiting=waiting,
        completed=completed,
        wait_answered_sum_s=counts[SUM_AT],
        longest_wait_s=counts[LONGEST_AT],
        buckets=list(counts[LONGEST_AT + 1 :]),
    )


def _as_wall(value: Any) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(value)


async def aggregate(
    engine: AsyncEngine,
    start: datetime,
    end: datetime,
    interval: Interval,
    tz: tzinfo,
    threshold_s: int,
    short_abandon_s: int,
    queue: str | None = None,
) -> dict[tuple[datetime, str], Counts]:
    """Counts per (interval start in UTC, queue) of the entries that joined in [start, end)."""
    dialect = engine.dialect.name
    bucket = wall_start(dialect, interval, str(tz)).label("wall_start")
    query = (
        select(bucket, QueueEntry.queue, *count_columns(threshold_s, short_abandon_s))
        .where(QueueEntry.joined_at >= start, QueueEntry.joined_at < end)
        .group_by(bucket, QueueEntry.queue)
    )
    if queue:
        query = query.where(QueueEntry.queue == queue)
    async with engine.connect() as conn:
        if dialect == "postgresql":
            # JIT compiling this query's expressions cost ~0.4 s of a 1M-row quarter
            await conn.execute(text("SET LOCAL jit = off"))
        rows = (await conn.execute(query)).all()
    counts: dict[tuple[datetime, str], Counts] = {}
    for row in rows:
        begin = localize(_as_wall(row[0]), tz).astimezone(UTC)
        numbers = list(row[2:])
        numbers[SUM_AT] = float(numbers[SUM_AT] or 0.0)
        numbers[LONGEST_AT] = float(numbers[LONGEST_AT] or 0.0)
        counts[(begin, row[1])] = numbers
    return counts


def figures_json(counts: Counts, threshold_s: int, short_abandon_s: int) -> str:
    """`figures_of(counts, ...).as_json()`, the same text, written straight from the
    numbers (a quarter by 15 minutes writes 26,000 of them).

    >>> numbers = [9, 5, 3, 4, 3, 1, 2, 1, 4, 77.25, 61.5, 2, 1, 0, 1, 0, 0, 0, 0, 1]
    >>> figures_json(numbers, 40, 5) == figures_of(numbers, 40, 5).as_json()
    True
    """
    (offered, answered, within, within_whole, abandoned, short, abandoned_whole, waiting) = counts[
        :8
    ]
    counted = answered + abandoned - short
    handled = answered + abandoned
    return FIGURES_JSON % (
        threshold_s,
        short_abandon_s,
        offered,
        answered,
        counts[8],
        within,
        within_whole,
        abandoned,
        short,
        abandoned_whole,
        waiting,
        repr(round(100.0 * within / counted, 1)) if counted else "null",
        f"{100.0 * within_whole / answered:.1f}" if answered > 0 else "0.0",
        f"{100.0 * (within_whole + abandoned_whole) / handled:.1f}" if handled > 0 else "0.0",
        repr(round(counts[SUM_AT] / answered, 3)) if answered else "null",
        repr(round(100.0 * abandoned / handled, 1)) if handled else "null",
        repr(round(float(counts[LONGEST_AT]), 3)),
        *counts[LONGEST_AT + 1 :],
    )
