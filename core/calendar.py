"""The business calendar: working hours, holidays and moved working days, business-time maths."""

from __future__ import annotations

import bisect
import itertools
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays

if TYPE_CHECKING:
    from core.settings import CalendarSettings

DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DAY_S = 24 * 3600
_US = 1_000_000
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ONE_US = timedelta(microseconds=1)
# A calendar whose every day is closed would make `add` walk forever: give up after this.
MAX_WALK_DAYS = 5 * 366
_CHUNK_DAYS = 366

# One working interval of a day, in seconds from local midnight: [start_s, end_s).
Interval = tuple[int, int]
WeekHours = tuple[tuple[Interval, ...], ...]  # index 0 = Monday

_ITEM = re.compile(r"^(?P<days>[a-z]{3}(?:-[a-z]{3})?)\s+(?P<ranges>.+)$")
_RANGE = re.compile(r"^(\d{1,2}):(\d{2})-(\d{1,2}):(\d{2})$")


def parse_hours(spec: str) -> WeekHours:
    """Parse `mon-fri 09:00-18:00` into per-weekday intervals (seconds from midnight).

    Items are separated by commas; each is a day or a day range (`mon-thu`, `sat`)
    followed by one or more time ranges separated by spaces (`09:00-13:00 14:00-18:00`
    for a lunch break). `24:00` closes a day; `mon-sun 00:00-24:00` is always open.
    Raises `ValueError` naming the faulty part.
    """
    if not spec or not spec.strip():
        raise ValueError("hours spec is empty; expected e.g. 'mon-fri 09:00-18:00'")
    week: list[list[Interval]] = [[] for _ in DAY_NAMES]
    for raw_item in spec.lower().split(","):
        item = raw_item.strip()
        match = _ITEM.match(item)
        if not match:
            raise ValueError(
                f"hours spec item {item!r} is not '<day>[-<day>] HH:MM-HH:MM [HH:MM-HH:MM ...]'"
            )
        days = _parse_days(match["days"], item)
        ranges = [_parse_range(text, item) for text in match["ranges"].split()]
        for day in days:
            week[day].extend(ranges)
    result: list[tuple[Interval, ...]] = []
    for day, intervals in enumerate(week):
        intervals.sort()
        for (_, end_a), (start_b, _) in itertools.pairwise(intervals):
            if start_b < end_a:
                raise ValueError(f"hours spec {spec!r}: ranges overlap on {DAY_NAMES[day]}")
        result.append(tuple(intervals))
    return tuple(result)


def _parse_days(text: str, item: str) -> list[int]:
    first, _, last = text.partition("-")
    for name in (first, last or first):
        if name not in DAY_NAMES:
            raise ValueError(
                f"hours spec item {item!r}: {name!r} is not a day (use {', '.join(DAY_NAMES)})"
            )
    start, end = DAY_NAMES.index(first), DAY_NAMES.index(last or first)
    if end < start:
        raise ValueError(f"hours spec item {item!r}: day range {text!r} runs backwards")
    return list(range(start, end + 1))


def _parse_range(text: str, item: str) -> Interval:
    match = _RANGE.match(text)
    if not match:
        raise ValueError(f"hours spec item {item!r}: {text!r} is not a range HH:MM-HH:MM")
    h1, m1, h2, m2 = (int(part) for part in match.groups())
    for hour, minute in ((h1, m1), (h2, m2)):
        if minute > 59 or hour > 24 or (hour == 24 and minute):
            raise ValueError(f"hours spec item {item!r}: {text!r} has an impossible time")
    start_s, end_s = h1 * 3600 + m1 * 60, h2 * 3600 + m2 * 60
    if end_s <= start_s:
        raise ValueError(f"hours spec item {item!r}: {text!r} ends before it starts")
    return start_s, end_s


def _to_us(moment: datetime, what: str) -> int:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{what} must be an aware datetime (with tzinfo), got naive {moment}")
    return (moment - _EPOCH) // _ONE_US


class BusinessCalendar:
    """Working time: weekly hours, a timezone, public holidays and overrides.

    A date is a working day when, in order of precedence: it is not in
    `extra_holidays`; it is in `extra_working_days`; it is not a public holiday of
    `holiday_calendar`; it is a weekend day moved to a working day by decree (from the
    `holidays` library); or its weekday has hours in `hours`. Moved and extra working
    days work the *standard day*: the hours of the first weekday that has any.
    """

    def __init__(
        self,
        hours: str = "mon-fri 09:00-18:00",
        timezone: str = "Europe/Moscow",
        holiday_calendar: str = "RU",
        extra_holidays: Iterable[date] = (),
        extra_working_days: Iterable[date] = (),
    ) -> None:
        self.week = parse_hours(hours)
        try:
            self.tz = ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            msg = f"unknown timezone {timezone!r} (expected e.g. Europe/Moscow)"
            raise ValueError(msg) from exc
        code = (holiday_calendar or "none").strip()
        if code.lower() == "none":
            self.holiday_calendar: str | None = None
        else:
            if code.upper() not in holidays.list_supported_countries():
                raise ValueError(
                    f"unknown holiday calendar {holiday_calendar!r} (a country code such as RU, "
                    "or 'none')"
                )
            self.holiday_calendar = code.upper()
        self.extra_holidays = frozenset(extra_holidays)
        self.extra_working_days = frozenset(extra_working_days)
        both = self.extra_holidays & self.extra_working_days
        if both:
            raise ValueError(f"dates both extra holidays and extra working days: {sorted(both)}")
        self.standard_day = next(day for day in self.week if day)
        self.standard_day_s = sum(end - start for start, end in self.standard_day)
        self._years: dict[int, tuple[frozenset[date], frozenset[date]]] = {}
        self._days: dict[date, tuple[tuple[int, int], ...]] = {}
        # _prefix[i]: business microseconds before day ordinal _origin + i, from a fixed zero.
        self._origin = 0
        self._prefix: list[int] = []

    @classmethod
    def from_settings(
        cls,
        settings: CalendarSettings,
        extra_holidays: Iterable[date] = (),
        extra_working_days: Iterable[date] = (),
    ) -> BusinessCalendar:
        """Build from `Settings.calendar` (`HOTLINE_HOURS`, `_TIMEZONE`, `_HOLIDAY_CALENDAR`)."""
        return cls(
            hours=settings.hours,
            timezone=settings.timezone,
            holiday_calendar=settings.holiday_calendar,
            extra_holidays=extra_holidays,
            extra_working_days=extra_working_days,
        )

    def _year(self, year: int) -> tuple[frozenset[date], frozenset[date]]:
        """(public days off, weekend days made working) of one year, loaded once."""
        if year not in self._years:
            if self.holiday_calendar is None:
                self._years[year] = (frozenset(), frozenset())
            else:
                table = holidays.country_holidays(self.holiday_calendar, years=year)
                moved = table.weekend_workdays  # weekend days made working by decree
                self._years[year] = (frozenset(table), frozenset(moved))
        return self._years[year]

    def day_hours(self, day: date) -> tuple[Interval, ...]:
        """The working intervals of `day` (seconds from local midnight); () if closed."""
        if day in self.extra_holidays:
            return ()
        if day in self.extra_working_days:
            return self.week[day.weekday()] or self.standard_day
        days_off, moved_workdays = self._year(day.year)
        if day in days_off:
            return ()
        if day in moved_workdays:
            return self.week[day.weekday()] or self.standard_day
        return self.week[day.weekday()]

    def is_working_day(self, day: date) -> bool:
        return bool(self.day_hours(day))

    def _day_us(self, day: date) -> tuple[tuple[int, int], ...]:
        """The working intervals of `day` as epoch microseconds, cached."""
        cached = self._days.get(day)
        if cached is None:
            midnight = datetime.combine(day, time(), self.tz)
            cached = tuple(
                (self._local_us(midnight, start_s), self._local_us(midnight, end_s))
                for start_s, end_s in self.day_hours(day)
            )
            self._days[day] = cached
        return cached

    def _local_us(self, midnight: datetime, offset_s: int) -> int:
        # Wall-clock time of that day: DST changes shift the UTC instant, not the hour.
        if offset_s >= DAY_S:
            wall = datetime.combine(midnight.date() + timedelta(days=1), time(), self.tz)
        else:
            wall = midnight.replace(hour=offset_s // 3600, minute=offset_s % 3600 // 60)
        return (wall.astimezone(UTC) - _EPOCH) // _ONE_US

    def _local_date(self, moment_us: int) -> date:
        return (_EPOCH + timedelta(microseconds=moment_us)).astimezone(self.tz).date()

    def elapsed(self, start: datetime, end: datetime) -> float:
        """Business seconds between two aware datetimes (0 if `end` is not after `start`)."""
        return self.elapsed_us(_to_us(start, "start"), _to_us(end, "end")) / _US

    def elapsed_us(self, start_us: int, end_us: int) -> int:
        if end_us <= start_us:
            return 0
        return self._cumulative_us(end_us) - self._cumulative_us(start_us)

    def add(self, start: datetime, business_s: float) -> datetime:
        """The aware datetime (in the calendar's timezone) the clock reaches from `start`.

        The earliest such moment: a deadline that uses up a day's hours exactly is at
        that day's closing time, not at the next opening. `add(start, 0)` is `start`.
        """
        if business_s < 0:
            raise ValueError(f"business_s must not be negative, got {business_s}")
        moment_us = self.add_us(_to_us(start, "start"), round(business_s * _US))
        return (_EPOCH + timedelta(microseconds=moment_us)).astimezone(self.tz)

    def add_us(self, start_us: int, business_us: int) -> int:
        if business_us <= 0:
            return start_us
        target_us = self._cumulative_us(start_us) + business_us
        limit = self._local_date(start_us).toordinal() + MAX_WALK_DAYS
        while self._prefix[-1] < target_us and self._origin + len(self._prefix) <= limit:
            self._grow_to(self._origin + len(self._prefix) - 1 + _CHUNK_DAYS)
        # The first day whose end reaches the target holds the moment.
        index = bisect.bisect_left(self._prefix, target_us) - 1
        if index >= len(self._prefix) - 1 or self._origin + index > limit:
            raise ValueError(f"the calendar has no working time within {MAX_WALK_DAYS} days")
        left_us = target_us - self._prefix[index]
        for a, b in self._day_us(date.fromordinal(self._origin + index)):
            if b - a >= left_us:
                return a + left_us
            left_us -= b - a
        raise AssertionError("the day index and the day's intervals disagree")

    # Business time is kept as a running total per day (prefix sums over date ordinals),
    # so elapsed() is two look-ups and add() a binary search, however long the span.
    def _cumulative_us(self, moment_us: int) -> int:
        """Business microseconds from the index's fixed zero to `moment_us`."""
        day = self._local_date(moment_us)
        self._grow_to(day.toordinal())
        total_us = self._prefix[day.toordinal() - self._origin]
        for a, b in self._day_us(day):
            if moment_us <= a:
                break
            total_us += min(moment_us, b) - a
        return total_us

    def _day_total_us(self, ordinal: int) -> int:
        return sum(b - a for a, b in self._day_us(date.fromordinal(ordinal)))

    def _grow_to(self, ordinal: int) -> None:
        """Make the index cover day `ordinal` (and the day after, for its end total)."""
        if not self._prefix:
            self._origin = ordinal - _CHUNK_DAYS
            self._prefix = [0]
        if ordinal < self._origin:
            # Grow backwards with totals below the old origin's, so values already handed
            # out stay valid (they are differences of this index).
            new_origin = ordinal - _CHUNK_DAYS
            head = [self._prefix[0]]
            for day in range(self._origin - 1, new_origin - 1, -1):
                head.append(head[-1] - self._day_total_us(day))
            head.reverse()
            self._prefix = head[:-1] + self._prefix
            self._origin = new_origin
        while self._origin + len(self._prefix) - 1 <= ordinal:
            last_day = self._origin + len(self._prefix) - 1
            self._prefix.append(self._prefix[-1] + self._day_total_us(last_day))

    def is_open(self, at: datetime) -> bool:
        """Whether `at` falls inside working hours."""
        at_us = _to_us(at, "at")
        day = self._local_date(at_us)
        return any(a <= at_us < b for a, b in self._day_us(day))


HOLIDAY = "holiday"
WORKING_DAY = "working_day"
OVERRIDE_KINDS = (HOLIDAY, WORKING_DAY)


@dataclass(frozen=True)
class CalendarOverrides:
    """A supervisor's changes to the settings' calendar: extra days off, extra working days.

    The CRM keeps them in SQL; the AGI server gets a copy over HTTP. Both read them with
    `from_days`, so a day means the same to the SLA clock and to the IVR.
    """

    holidays: frozenset[date] = frozenset()
    working_days: frozenset[date] = frozenset()

    @classmethod
    def from_days(cls, days: Iterable[tuple[date, str]]) -> CalendarOverrides:
        """From `(day, kind)` pairs, `kind` being `holiday` or `working_day`.

        >>> CalendarOverrides.from_days([(date(2026, 12, 31), "holiday")]).holidays
        frozenset({datetime.date(2026, 12, 31)})
        """
        by_kind: dict[str, set[date]] = {kind: set() for kind in OVERRIDE_KINDS}
        for day, kind in days:
            if kind not in by_kind:
                raise ValueError(
                    f"calendar override of {day}: {kind!r} is not one of {OVERRIDE_KINDS}"
                )
            by_kind[kind].add(day)
        return cls(frozenset(by_kind[HOLIDAY]), frozenset(by_kind[WORKING_DAY]))


NO_OVERRIDES = CalendarOverrides()


class CalendarCache:
    """The settings' calendar plus given overrides, built again only when they change.

    A `BusinessCalendar` caches holiday years and business-time sums, so reusing it while
    the overrides stay the same keeps SLA reads and IVR checks cheap. Each owner (the CRM's
    calendar store, the AGI server) keeps its own: a calendar's caches are not shared
    between event loops.
    """

    def __init__(self, settings: CalendarSettings) -> None:
        self._settings = settings
        # Bad hours, timezone or holiday calendar fail here, at start-up, not at first use.
        self._built = (NO_OVERRIDES, BusinessCalendar.from_settings(settings))

    def calendar_with(self, overrides: CalendarOverrides) -> BusinessCalendar:
        if self._built[0] != overrides:
            calendar = BusinessCalendar.from_settings(
                self._settings,
                extra_holidays=overrides.holidays,
                extra_working_days=overrides.working_days,
            )
            self._built = (overrides, calendar)
        return self._built[1]
