"""Service-level history: the figures of `core.service_level` by interval, per queue and `all`.

Intervals are cut in the hotline's time zone (`HOTLINE_TIMEZONE`, `crm.supervisor.intervals`):
`15m`, `hour`, `day`, `week`, `month`, `quarter`. An entry belongs to the interval in which
it joined the queue. The database does the counting (`crm.supervisor.history_sql`): the
API reads one row per interval and queue, never the entries. Every figure is computed
from the entries at the moment of asking, so an interval that is still open is exact.

`history()` is the Python reference: the same response from entries in memory
(`load_entries`), used by the tests and the demo to check the SQL. `perf`/`perf2` count on
Asterisk's whole-second wait (`HoldTime`, stored as `wait_whole_s`), so they equal
`QueueParams`' `ServicelevelPerf`/`ServicelevelPerf2` for the same calls; entries recorded
before it was stored use the float wait truncated.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from core.service_level import ALL_QUEUES, EntryOutcome, QueueFigures, service_level
from crm.models import QueueEntry as QueueEntryRow
from crm.models import QueueEntryOutcome
from crm.supervisor.history_sql import Counts, aggregate, column_sums, figures_of
from crm.supervisor.history_text import series_json
from crm.supervisor.intervals import (
    INTERVALS,
    MAX_INTERVALS,
    Interval,
    interval_start,
    interval_starts,
    next_start,
)
from crm.supervisor.rollup import aggregate_rolled, whole_quarter_hours

CHUNK_INTERVALS = 256  # intervals per piece of the streamed response

__all__ = [
    "INTERVALS",
    "MAX_INTERVALS",
    "Interval",
    "SqlEntry",
    "history",
    "history_from_sql",
    "history_json",
    "interval_start",
    "load_entries",
    "next_start",
    "outcome_of",
]


@dataclass(frozen=True)
class SqlEntry:
    queue: str
    joined_at: datetime
    wait_s: float | None
    outcome: QueueEntryOutcome
    wait_whole_s: int | None = None
    completed: bool = False  # the agent's talk ended (AgentComplete), as the tracker counts


async def load_entries(
    engine: AsyncEngine, start: datetime, end: datetime, queue: str | None
) -> list[SqlEntry]:
    """Every entry that joined in [start, end), in memory (the reference's input)."""
    row = QueueEntryRow
    query = select(
        row.queue, row.joined_at, row.wait_s, row.outcome, row.wait_whole_s, row.completed_at
    ).where(row.joined_at >= start, row.joined_at < end)
    if queue:
        query = query.where(row.queue == queue)
    async with engine.connect() as conn:
        rows = (await conn.execute(query.order_by(row.joined_at))).all()
    return [
        SqlEntry(
            r.queue,
            r.joined_at,
            r.wait_s,
            QueueEntryOutcome(r.outcome),
            r.wait_whole_s,
            r.completed_at is not None,
        )
        for r in rows
    ]


def outcome_of(row: SqlEntry) -> EntryOutcome:
    """A stored entry as the service-level maths reads it."""
    return EntryOutcome(
        row.queue, row.outcome.value, row.wait_s, row.wait_whole_s, completed=row.completed
    )


def _header(
    start: datetime, end: datetime, interval: Interval, tz: tzinfo, threshold_s: int, short_s: int
) -> dict[str, Any]:
    return {
        "interval": interval,
        "from": start.astimezone(tz).isoformat(),
        "to": end.astimezone(tz).isoformat(),
        "threshold_s": threshold_s,
        "short_abandon_s": short_s,
    }


def history(
    rows: Sequence[SqlEntry],
    start: datetime,
    end: datetime,
    interval: Interval,
    tz: tzinfo,
    threshold_s: int,
    short_abandon_s: int,
) -> dict[str, Any]:
    """The reference: figures per interval (per queue and `all`) and over the whole range,
    from entries in memory."""
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
        **_header(start, end, interval, tz, threshold_s, short_abandon_s),
        "queues": sorted(q for q in total if q != ALL_QUEUES),
        "total": total,
        "series": series,
    }


def history_json(
    counts: Mapping[tuple[datetime, str], Counts],
    starts: Sequence[datetime],
    start: datetime,
    end: datetime,
    interval: Interval,
    tz: tzinfo,
    threshold_s: int,
    short_abandon_s: int,
) -> Iterator[str]:
    """The response as JSON text in pieces (`history()`'s shape), from the numbers of each
    (interval start in UTC, queue); `starts` are `interval_starts()`'s. Nothing is held but
    the numbers: a quarter by 15 minutes is ~13 MB of JSON, written out as it is made."""

    def as_dict(numbers: Counts | None) -> dict[str, Any]:
        if numbers is None:
            return QueueFigures(threshold_s, short_abandon_s).as_dict()
        return figures_of(numbers, threshold_s, short_abandon_s).as_dict()

    per_queue: dict[str, list[Counts]] = {}
    for (_, queue), numbers in counts.items():
        per_queue.setdefault(queue, []).append(numbers)
    # Column sums in one pass each (adding 26,000 rows one by one cost 0.3 s).
    total = {queue: column_sums(rows) for queue, rows in per_queue.items()}
    overall = column_sums(list(total.values())) if total else None
    totals = {name: as_dict(total[name]) for name in sorted(total)}
    totals[ALL_QUEUES] = as_dict(overall)
    head = {
        **_header(start, end, interval, tz, threshold_s, short_abandon_s),
        "queues": sorted(total),
        "total": totals,
    }
    yield json.dumps(head)[:-1] + ', "series": ['
    isoformats = [begin.isoformat() for begin in starts]
    if starts:
        last_end = min(next_start(starts[-1], interval, tz), end.astimezone(tz))
        isoformats.append(last_end.isoformat())
    utc_starts = [begin.astimezone(UTC) for begin in starts]
    yield from series_json(
        counts, utc_starts, isoformats, threshold_s, short_abandon_s, CHUNK_INTERVALS
    )
    yield "]}"


async def history_from_sql(
    engine: AsyncEngine,
    start: datetime,
    end: datetime,
    interval: Interval,
    tz: tzinfo,
    threshold_s: int,
    short_abandon_s: int,
    queue: str | None = None,
    *,
    rollup: bool = True,
) -> Iterator[str]:
    """The history counted by the database, as JSON text in pieces (see the module
    docstring); ValueError (before any query) for more than `MAX_INTERVALS` intervals.
    With `rollup` (and a zone offset by whole quarter hours) from `crm.supervisor.rollup`,
    else by one `GROUP BY` over the entries."""
    starts = list(interval_starts(start, end, interval, tz))
    args = (engine, start, end, interval, tz, threshold_s, short_abandon_s, queue)
    if rollup and whole_quarter_hours(start, end, tz):
        counts = await aggregate_rolled(*args, starts=starts)
    else:
        counts = await aggregate(*args)
    return history_json(counts, starts, start, end, interval, tz, threshold_s, short_abandon_s)
