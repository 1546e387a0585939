"""Service-level history from SQL: the `queue_entries` the recorder writes, by interval.

Intervals are cut in the hotline's time zone (`HOTLINE_TIMEZONE`): `15m`, `hour`, `day`,
`quarter` (calendar quarters). An entry belongs to the interval in which it joined the
queue. The stored wait is the float wait (timestamps); Asterisk's whole-second wait is
not stored, so `perf`/`perf2` here use the float wait truncated, which can differ from
`QueueParams` by a call whose wait was within a second of T.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from core.service_level import ALL_QUEUES, EntryOutcome, service_level
from crm.models import QueueEntry as QueueEntryRow
from crm.models import QueueEntryOutcome

Interval = Literal["15m", "hour", "day", "quarter"]
INTERVALS: tuple[Interval, ...] = ("15m", "hour", "day", "quarter")
MAX_INTERVALS = 10_000  # a request asking for more is refused, not served slowly


@dataclass(frozen=True)
class SqlEntry:
    queue: str
    joined_at: datetime
    wait_s: float | None
    outcome: QueueEntryOutcome
    completed: bool = False  # the agent's talk ended (AgentComplete), as the tracker counts


def interval_start(at: datetime, interval: Interval, tz: tzinfo) -> datetime:
    """The start (aware, in `tz`) of the interval holding `at`."""
    local = at.astimezone(tz)
    if interval == "15m":
        local = local.replace(minute=local.minute - local.minute % 15, second=0, microsecond=0)
    elif interval == "hour":
        local = local.replace(minute=0, second=0, microsecond=0)
    elif interval == "day":
        local = local.replace(hour=0, minute=0, second=0, microsecond=0)
    else:
        month = local.month - (local.month - 1) % 3
        local = local.replace(month=month, day=1, hour=0, minute=0, second=0, microsecond=0)
    # re-localise: the wall time may sit on the other side of a DST change
    return local.replace(tzinfo=None).replace(tzinfo=tz)


def next_start(start: datetime, interval: Interval, tz: tzinfo) -> datetime:
    naive = start.replace(tzinfo=None)
    if interval == "15m":
        return interval_start((start + timedelta(minutes=15)), interval, tz)
    if interval == "hour":
        return interval_start((start + timedelta(hours=1)), interval, tz)
    if interval == "day":
        return (naive + timedelta(days=1)).replace(tzinfo=tz)
    month = naive.month + 3
    year = naive.year + (month > 12)
    return naive.replace(year=year, month=(month - 1) % 12 + 1).replace(tzinfo=tz)


def interval_starts(
    start: datetime, end: datetime, interval: Interval, tz: tzinfo
) -> Iterator[datetime]:
    current = interval_start(start, interval, tz)
    count = 0
    while current < end:
        yield current
        count += 1
        if count > MAX_INTERVALS:
            raise ValueError(f"more than {MAX_INTERVALS} intervals: ask for a longer interval")
        current = next_start(current, interval, tz)


async def load_entries(
    engine: AsyncEngine, start: datetime, end: datetime, queue: str | None
) -> list[SqlEntry]:
    query = select(
        QueueEntryRow.queue,
        QueueEntryRow.joined_at,
        QueueEntryRow.wait_s,
        QueueEntryRow.outcome,
        QueueEntryRow.completed_at,
    ).where(QueueEntryRow.joined_at >= start, QueueEntryRow.joined_at < end)
    if queue:
        query = query.where(QueueEntryRow.queue == queue)
    async with engine.connect() as conn:
        rows = (await conn.execute(query.order_by(QueueEntryRow.joined_at))).all()
    return [
        SqlEntry(
            r.queue, r.joined_at, r.wait_s, QueueEntryOutcome(r.outcome), r.completed_at is not None
        )
        for r in rows
    ]


def outcome_of(row: SqlEntry) -> EntryOutcome:
    """A stored entry as the service-level maths reads it (no whole-second wait kept)."""
    return EntryOutcome(row.queue, row.outcome.value, row.wait_s, completed=row.completed)


def history(
    rows: Sequence[SqlEntry],
    start: datetime,
    end: datetime,
    interval: Interval,
    tz: tzinfo,
    threshold_s: int,
    short_abandon_s: int,
) -> dict[str, Any]:
    """Figures per interval (per queue and `all`), and over the whole range."""
    starts = list(interval_starts(start, end, interval, tz))
    by_start: dict[datetime, list[EntryOutcome]] = {s: [] for s in starts}
    for row in rows:
        key = interval_start(row.joined_at, interval, tz)
        by_start.setdefault(key, []).append(outcome_of(row))
    series = []
    for begin in starts:
        entries = by_start[begin]
        series.append(
            {
                "start": begin.isoformat(),
                "end": min(next_start(begin, interval, tz), end.astimezone(tz)).isoformat(),
                "queues": service_level(entries, threshold_s, short_abandon_s),
            }
        )
    total = service_level(
        [e for entries in by_start.values() for e in entries], threshold_s, short_abandon_s
    )
    return {
        "interval": interval,
        "from": start.astimezone(tz).isoformat(),
        "to": end.astimezone(tz).isoformat(),
        "threshold_s": threshold_s,
        "short_abandon_s": short_abandon_s,
        "queues": sorted(q for q in total if q != ALL_QUEUES),
        "total": total,
        "series": series,
    }
