"""Reading an event's values: its numbers, its moment as a datetime, the wait two moments give.

Time is the event's `Timestamp:` header when Asterisk sends one (`timestampevents=yes`),
else the moment the frame was received (the parser's injectable clock); `HoldTime`
checks the waits computed from those times.
"""

from __future__ import annotations

from datetime import UTC, datetime


def utc(at: float) -> datetime:
    return datetime.fromtimestamp(at, UTC)


def as_int(value: str) -> int | None:
    """A header's whole number, None if it is not one.

    >>> as_int("16"), as_int("-1"), as_int("")
    (16, -1, None)
    """
    return int(value) if value.lstrip("-").isdigit() else None


def checked_wait(start: float, end: float, hold_time_s: int | None) -> float:
    """The wait from two event times, unless `HoldTime` proves them wrong.

    HoldTime is a difference of truncated clock seconds, so the true wait lies strictly
    within one second of it; outside that (no timestamps, a clock jump) trust HoldTime.

    >>> checked_wait(100.0, 112.5, 12), checked_wait(100.0, 100.0, 30)
    (12.5, 30.0)
    """
    wait_s = end - start
    if hold_time_s is not None and abs(wait_s - hold_time_s) >= 1.0:
        return float(hold_time_s)
    return max(wait_s, 0.0)


def estimated_wait(start: float, end: float, hold_time_s: int | None) -> float:
    """The wait when `start` or `end` is itself only known to within a second (a join
    time worked out from `QueueStatus`'s whole-second `Wait` after an AMI outage, an
    answer time from `TalkTime`): the middle of what both readings allow.

    Such a wait, `end - start`, is off by up to a second (more by the snapshot's own
    latency), and HoldTime too: the true wait lies in both one-second bands, so their
    overlap's middle is never a second off. Read alone, the estimate was: a caller who
    waited 1.50 s was recorded 0.41 s (HoldTime 1), the fault suite's tracker restart.
    Readings that do not overlap (a clock jump) leave HoldTime.

    >>> estimated_wait(100.0, 100.41, 1), estimated_wait(100.0, 100.41, 2)
    (0.705, 1.205)
    >>> estimated_wait(100.0, 112.0, 12), estimated_wait(100.0, 130.0, 12)
    (12.0, 12.0)
    """
    wait_s = end - start
    if hold_time_s is None:
        return max(wait_s, 0.0)
    low = max(hold_time_s - 1.0, wait_s - 1.0, 0.0)
    high = min(hold_time_s + 1.0, wait_s + 1.0)
    if low >= high:
        return float(hold_time_s)
    return round((low + high) / 2, 6)
