"""The service-level history as CSV: one row per interval and queue (and `all`), then the
totals (`period` = `total`)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime, tzinfo
from typing import Any

from core.service_level import ALL_QUEUES, BUCKET_LABELS, COUNTS, QueueFigures
from crm.csv_export import CsvRows
from crm.supervisor.history_sql import Counts, add_counts, figures_of
from crm.supervisor.intervals import Interval, next_start

FIELDS = (
    *COUNTS,
    "sl",
    "perf",
    "perf2",
    "asa_s",
    "abandon_rate",
    "longest_wait_s",
)
HEADER = ["period", "start", "end", "queue", *FIELDS, *(f"answered_{b}" for b in BUCKET_LABELS)]
CHUNK_ROWS = 500


def _row(period: str, start: str, end: str, queue: str, figures: QueueFigures) -> list[Any]:
    values = figures.as_dict()
    buckets = values["answered_within_buckets"]
    return [period, start, end, queue, *(values[f] for f in FIELDS), *buckets.values()]


def history_csv(
    counts: Mapping[tuple[datetime, str], Counts],
    starts: Sequence[datetime],
    start: datetime,
    end: datetime,
    interval: Interval,
    tz: tzinfo,
    threshold_s: int,
    short_abandon_s: int,
    rows: CsvRows,
) -> Iterator[str]:
    """CSV text in pieces (the header is the caller's: `crm.csv_export.with_bom`)."""
    per_start: dict[datetime, dict[str, Counts]] = {}
    for (begin, queue), numbers in counts.items():
        per_start.setdefault(begin, {})[queue] = numbers
    total: dict[str, Counts] = {}
    overall: Counts | None = None
    end_local = end.astimezone(tz)
    batch: list[list[Any]] = []
    for index, begin in enumerate(starts):
        following = starts[index + 1] if index + 1 < len(starts) else end_local
        following = min(following, next_start(begin, interval, tz), end_local)
        first, last = begin.isoformat(), following.isoformat()
        everything: Counts | None = None
        for name, numbers in sorted(per_start.get(begin.astimezone(UTC), {}).items()):
            batch.append(
                _row(
                    "interval", first, last, name, figures_of(numbers, threshold_s, short_abandon_s)
                )
            )
            everything = add_counts(everything, numbers)
            total[name] = add_counts(total.get(name), numbers)
            overall = add_counts(overall, numbers)
        figures = (
            figures_of(everything, threshold_s, short_abandon_s)
            if everything is not None
            else QueueFigures(threshold_s, short_abandon_s)
        )
        batch.append(_row("interval", first, last, ALL_QUEUES, figures))
        if len(batch) >= CHUNK_ROWS:
            yield rows.piece(batch)
            batch.clear()
    first, last = start.astimezone(tz).isoformat(), end_local.isoformat()
    for name in sorted(total):
        batch.append(
            _row("total", first, last, name, figures_of(total[name], threshold_s, short_abandon_s))
        )
    batch.append(
        _row(
            "total",
            first,
            last,
            ALL_QUEUES,
            figures_of(overall, threshold_s, short_abandon_s)
            if overall is not None
            else QueueFigures(threshold_s, short_abandon_s),
        )
    )
    yield rows.piece(batch)
