"""The service-level history's series as JSON text, written from the numbers of every
(interval, queue) at once.

A quarter by 15 minutes is 8,832 intervals and ~26,000 figures: computed one by one in
Python (a division, a `round` and a `repr` per rate) they cost more than the database's
work and the transfer together. Here the rates of all the figures are computed by numpy
column by column, with the same float operations in the same order as
`core.service_level.QueueFigures.rates()` (so the same doubles), rounded by Python's own
`round` mapped over each column, and each figure is one `%` of a template. The text is
`json.dumps(QueueFigures.as_dict())`'s, byte for byte.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from itertools import repeat
from typing import Any

import numpy as np

from core.service_level import ALL_QUEUES, BUCKET_LABELS, COUNTS
from crm.supervisor.history_sql import LONGEST_AT, SUM_AT, Counts

# The counts in the order the figures name them (`Counts` has `completed` last, at 8).
INTS_IN_ORDER = [0, 1, 8, 2, 3, 4, 5, 6, 7]
WIDTH = LONGEST_AT + 1 + len(BUCKET_LABELS)


class _Null:
    """A rate with nothing to count: `%r` writes it as JSON's null."""

    def __repr__(self) -> str:
        return "null"


NULL = _Null()


def figures_template(threshold_s: int, short_abandon_s: int) -> str:
    """`QueueFigures.as_json()`'s text with T and S written in and a `%` per value."""
    counts = ", ".join(f'"{name}": %d' for name in COUNTS)
    buckets = ", ".join(f'"{label}": %d' for label in BUCKET_LABELS)
    return (
        f'{{"threshold_s": {int(threshold_s)}, "short_abandon_s": {int(short_abandon_s)}, '
        f'{counts}, "sl": %r, "perf": %.1f, "perf2": %.1f, "asa_s": %r, '
        f'"abandon_rate": %r, "longest_wait_s": %r, "answered_within_buckets": {{{buckets}}}}}'
    )


def _rounded(values: np.ndarray, defined: np.ndarray, digits: int) -> list[Any]:
    """Python's `round(value, digits)` of each value, NULL where not `defined`."""
    rounded = list(map(round, values.tolist(), repeat(digits)))
    return [r if ok else NULL for r, ok in zip(rounded, defined.tolist(), strict=True)]


def _ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """numerator / denominator, 0.0 where the denominator is 0."""
    defined = denominator != 0
    return np.where(defined, numerator / np.where(defined, denominator, 1.0), 0.0)


def figures_texts(numbers: np.ndarray, template: str) -> list[str]:
    """The JSON text of each row of `numbers` (rows laid out as `Counts`, floats)."""
    if not len(numbers):
        return []
    column = numbers.T
    answered, within, within_whole, abandoned, short, abandoned_whole = column[1:7]
    counted = answered + abandoned - short
    handled = answered + abandoned
    # The operations of `QueueFigures.rates()`, in its order: the same doubles.
    sl = _rounded(_ratio(100.0 * within, counted), counted != 0, 1)
    perf = np.where(answered > 0, _ratio(100.0 * within_whole, answered), 0.0).tolist()
    perf2 = np.where(
        handled > 0, _ratio(100.0 * (within_whole + abandoned_whole), handled), 0.0
    ).tolist()
    asa = _rounded(_ratio(column[SUM_AT], answered), answered != 0, 3)
    abandon_rate = _rounded(_ratio(100.0 * abandoned, handled), handled != 0, 1)
    longest = list(map(round, column[LONGEST_AT].tolist(), repeat(3)))
    ints = numbers[:, INTS_IN_ORDER].astype(np.int64).T.tolist()
    buckets = numbers[:, LONGEST_AT + 1 :].astype(np.int64).T.tolist()
    rows = zip(*ints, sl, perf, perf2, asa, abandon_rate, longest, *buckets, strict=True)
    return [template % row for row in rows]


def series_json(
    counts: Mapping[tuple[datetime, str], Counts],
    utc_starts: Sequence[datetime],
    isoformats: Sequence[str],
    threshold_s: int,
    short_abandon_s: int,
    chunk_intervals: int,
) -> Iterator[str]:
    """The `series` array's items, comma-separated, in pieces of `chunk_intervals`.

    `utc_starts` are the intervals' starts in UTC (the keys of `counts`), `isoformats`
    their starts in the zone and, one more, the last interval's end. Per interval: its
    queues by name, then `all` (their sum; a queue that is named `all` adds to it only)."""
    names = sorted({name for _, name in counts})
    index = {begin: i for i, begin in enumerate(utc_starts)}
    position = {name: q for q, name in enumerate(names)}
    intervals = len(utc_starts)
    table = np.zeros((len(names) + 1, intervals, WIDTH))  # the last row of queues: `all`
    present = np.zeros((len(names), intervals), dtype=bool)
    at_queue, at_interval, rows = [], [], []
    for (begin, name), numbers in counts.items():
        i = index.get(begin)
        if i is not None:
            at_queue.append(position[name])
            at_interval.append(i)
            rows.append(numbers)
    if rows:
        table[at_queue, at_interval] = np.array(rows, dtype=float)
        present[at_queue, at_interval] = True
    # `all`, summed queue by queue in name order as `add_counts` does (the same float sums)
    everything, longest = table[-1], table[-1, :, LONGEST_AT]
    for q in range(len(names)):
        everything[:, :LONGEST_AT] += table[q, :, :LONGEST_AT]
        everything[:, LONGEST_AT + 1 :] += table[q, :, LONGEST_AT + 1 :]
        np.maximum(longest, table[q, :, LONGEST_AT], out=longest)
    template = figures_template(threshold_s, short_abandon_s)
    listed = [q for q, name in enumerate(names) if name != ALL_QUEUES]
    labels = {q: json.dumps(names[q]) + ": " for q in listed}
    all_label = json.dumps(ALL_QUEUES) + ": "
    # A chunk of intervals at a time: only that chunk's text is ever held.
    for first in range(0, intervals, chunk_intervals):
        last = min(first + chunk_intervals, intervals)
        all_texts = figures_texts(everything[first:last], template)
        queue_texts: dict[int, list[str | None]] = {}
        for q in listed:
            texts: list[str | None] = [None] * (last - first)
            where = np.flatnonzero(present[q, first:last]).tolist()
            found = figures_texts(table[q, first:last][where], template)
            for i, text in zip(where, found, strict=True):
                texts[i] = text
            queue_texts[q] = texts
        pieces = []
        for i in range(last - first):
            parts = [labels[q] + text for q in listed if (text := queue_texts[q][i]) is not None]
            parts.append(all_label + all_texts[i])
            pieces.append(
                f'{", " if first + i else ""}{{"start": "{isoformats[first + i]}", '
                f'"end": "{isoformats[first + i + 1]}", "queues": {{{", ".join(parts)}}}}}'
            )
        yield "".join(pieces)
