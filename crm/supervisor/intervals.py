"""Report intervals cut in the hotline's time zone: `15m`, `hour`, `day`, `week`, `month`,
`quarter`.

An interval is named by its start's wall-clock time in the zone: a moment belongs to the
interval whose wall-clock start is its own wall-clock time truncated. On a DST change
back the repeated wall hour is one interval (its start is the first occurrence); the
skipped hour of a change forward has none. SQL reproduces exactly this rule: PostgreSQL
truncates `joined_at AT TIME ZONE` the zone, SQLite calls `wall_start` (registered on
its connections by `crm.db`).

>>> from zoneinfo import ZoneInfo
>>> berlin = ZoneInfo("Europe/Berlin")
>>> interval_start(datetime(2026, 3, 29, 1, 20, tzinfo=UTC), "hour", berlin).isoformat()
'2026-03-29T03:00:00+02:00'
>>> interval_start(datetime(2026, 7, 15, 12, tzinfo=UTC), "week", berlin).isoformat()
'2026-07-13T00:00:00+02:00'
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, tzinfo
from functools import lru_cache
from typing import Literal
from zoneinfo import ZoneInfo

Interval = Literal["15m", "hour", "day", "week", "month", "quarter"]
INTERVALS: tuple[Interval, ...] = ("15m", "hour", "day", "week", "month", "quarter")
MAX_INTERVALS = 10_000  # a request asking for more is refused, not served slowly


def truncate_wall(local: datetime, interval: Interval) -> datetime:
    """A wall-clock (naive or aware, left as is) time truncated to its interval's start."""
    if interval == "15m":
        return local.replace(minute=local.minute - local.minute % 15, second=0, microsecond=0)
    if interval == "hour":
        return local.replace(minute=0, second=0, microsecond=0)
    day = local.replace(hour=0, minute=0, second=0, microsecond=0)
    if interval == "day":
        return day
    if interval == "week":  # ISO weeks: Monday
        return day - timedelta(days=day.weekday())
    if interval == "month":
        return day.replace(day=1)
    return day.replace(month=day.month - (day.month - 1) % 3, day=1)


def interval_start(at: datetime, interval: Interval, tz: tzinfo) -> datetime:
    """The start (aware, in `tz`) of the interval holding `at`."""
    wall = truncate_wall(at.astimezone(tz).replace(tzinfo=None, fold=0), interval)
    return localize(wall, tz)


def localize(wall: datetime, tz: tzinfo) -> datetime:
    """A naive wall-clock time in `tz`: the first occurrence of a repeated one, and a
    time in a gap (DST forward) moved past the gap."""
    aware = wall.replace(tzinfo=tz, fold=0)
    return aware.astimezone(UTC).astimezone(tz)


def next_start(start: datetime, interval: Interval, tz: tzinfo) -> datetime:
    """The start of the interval after the one starting at `start`."""
    wall = start.replace(tzinfo=None, fold=0)
    if interval == "15m":
        wall += timedelta(minutes=15)
    elif interval == "hour":
        wall += timedelta(hours=1)
    elif interval == "day":
        wall += timedelta(days=1)
    elif interval == "week":
        wall += timedelta(days=7)
    else:
        months = 1 if interval == "month" else 3
        month = wall.month - 1 + months
        wall = wall.replace(year=wall.year + month // 12, month=month % 12 + 1)
    return localize(wall, tz)


def interval_starts(
    start: datetime, end: datetime, interval: Interval, tz: tzinfo
) -> Iterator[datetime]:
    """The starts of every interval that meets [start, end); ValueError past MAX_INTERVALS."""
    current = interval_start(start, interval, tz)
    count = 0
    while current < end:
        yield current
        count += 1
        if count > MAX_INTERVALS:
            raise ValueError(f"more than {MAX_INTERVALS} intervals: ask for a longer interval")
        current = next_start(current, interval, tz)


@lru_cache(maxsize=64)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def wall_start(stored_utc: str | None, interval: str, zone: str) -> str | None:
    """SQLite's SQL function `hotline_wall_start(joined_at, interval, zone)`: the wall-clock
    start of the interval holding a stored (naive UTC text) time, as naive ISO text."""
    if stored_utc is None:
        return None
    at = datetime.fromisoformat(stored_utc).replace(tzinfo=UTC)
    local = at.astimezone(_zone(zone)).replace(tzinfo=None)
    return truncate_wall(local, interval).isoformat(sep=" ")  # type: ignore[arg-type]
