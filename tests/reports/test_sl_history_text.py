"""The history's JSON as the route streams it (`history_json`, the series written by
`crm.supervisor.history_text` from every interval's numbers at once) is byte for byte
`json.dumps` of the plain response built one figure at a time with
`QueueFigures.as_dict()`, on random numbers over random ranges (DST changes included)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from core.service_level import ALL_QUEUES, QueueFigures
from crm.supervisor.history import history_json
from crm.supervisor.history_sql import Counts, add_counts, column_sums, figures_of
from crm.supervisor.intervals import INTERVALS, interval_starts, next_start

ZONES = ["Europe/Moscow", "Europe/Berlin", "Australia/Lord_Howe", "Asia/Kathmandu"]
QUEUES = ["hotline", "support", "финансы", ALL_QUEUES]  # a queue named `all` adds to `all` only


def plain_body(
    counts: dict[tuple[datetime, str], Counts],
    starts: list[datetime],
    start: datetime,
    end: datetime,
    interval: Any,
    tz: ZoneInfo,
    threshold_s: int,
    short_s: int,
) -> str:
    """The response the obvious way: a dict of `as_dict()`s, then `json.dumps`."""

    def as_dict(numbers: Counts | None) -> dict[str, Any]:
        if numbers is None:
            return QueueFigures(threshold_s, short_s).as_dict()
        return figures_of(numbers, threshold_s, short_s).as_dict()

    per_start: dict[datetime, dict[str, Counts]] = {}
    per_queue: dict[str, list[Counts]] = {}
    for (begin, name), numbers in counts.items():
        per_start.setdefault(begin, {})[name] = numbers
        per_queue.setdefault(name, []).append(numbers)
    total = {name: column_sums(rows) for name, rows in per_queue.items()}
    totals = {name: as_dict(total[name]) for name in sorted(total)}
    totals[ALL_QUEUES] = as_dict(column_sums(list(total.values())) if total else None)
    series = []
    for i, begin in enumerate(starts):
        if i + 1 < len(starts):
            following = starts[i + 1]
        else:
            following = min(next_start(begin, interval, tz), end.astimezone(tz))
        queues = per_start.get(begin.astimezone(UTC), {})
        figures = {name: as_dict(queues[name]) for name in sorted(queues) if name != ALL_QUEUES}
        everything = None
        for name in sorted(queues):
            everything = add_counts(everything, queues[name])
        figures[ALL_QUEUES] = as_dict(everything)
        series.append({"start": begin.isoformat(), "end": following.isoformat(), "queues": figures})
    return json.dumps(
        {
            "interval": interval,
            "from": start.astimezone(tz).isoformat(),
            "to": end.astimezone(tz).isoformat(),
            "threshold_s": threshold_s,
            "short_abandon_s": short_s,
            "queues": sorted(total),
            "total": totals,
            "series": series,
        }
    )


counts_of_a_group = st.tuples(
    st.lists(st.integers(min_value=0, max_value=400), min_size=9, max_size=9),
    # waits summed as the database sums them: any double, tenths of a microsecond included
    st.floats(min_value=0, max_value=1e6, allow_nan=False),
    st.floats(min_value=0, max_value=5e3, allow_nan=False),
    st.lists(st.integers(min_value=0, max_value=400), min_size=9, max_size=9),
)


@settings(max_examples=150, deadline=None)
@given(
    zone=st.sampled_from(ZONES),
    interval=st.sampled_from(INTERVALS),
    begin=st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2026, 12, 1)),
    length_h=st.integers(min_value=1, max_value=24 * 40),
    threshold_s=st.integers(min_value=1, max_value=120),
    short_s=st.integers(min_value=0, max_value=30),
    groups=st.lists(
        st.tuples(st.integers(min_value=0), st.sampled_from(QUEUES), counts_of_a_group),
        max_size=120,
    ),
    chunk=st.integers(min_value=1, max_value=300),
)
def test_the_streamed_body_is_the_plain_one_byte_for_byte(
    zone, interval, begin, length_h, threshold_s, short_s, groups, chunk
) -> None:
    import crm.supervisor.history as history_module

    tz = ZoneInfo(zone)
    start = begin.replace(tzinfo=UTC)
    end = start + timedelta(hours=length_h)
    if interval == "15m" and length_h > 24 * 20:
        interval = "hour"
    starts = list(interval_starts(start, end, interval, tz))
    counts: dict[tuple[datetime, str], Counts] = {}
    for at, name, (ints, wait_sum, longest, buckets) in groups:
        begin_utc = starts[at % len(starts)].astimezone(UTC)
        counts[(begin_utc, name)] = [*ints, wait_sum, longest, *buckets]
    expected = plain_body(counts, starts, start, end, interval, tz, threshold_s, short_s)
    original_chunk = history_module.CHUNK_INTERVALS
    history_module.CHUNK_INTERVALS = chunk  # pieces of any size join to the same text
    try:
        pieces = list(history_json(counts, starts, start, end, interval, tz, threshold_s, short_s))
    finally:
        history_module.CHUNK_INTERVALS = original_chunk
    assert "".join(pieces) == expected
    assert len(pieces) == 2 + -(-len(starts) // chunk)  # the head, the chunks, the close
