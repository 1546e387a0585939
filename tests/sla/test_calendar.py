"""The business calendar: the hours spec, holidays, moved working days, overrides, errors."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import holidays
import pytest

from core.calendar import (
    NO_OVERRIDES,
    OVERRIDE_KINDS,
    BusinessCalendar,
    CalendarCache,
    CalendarOverrides,
    parse_hours,
)
from core.settings import CalendarSettings
from tests.sla.conftest import DAY_S, HOUR_S, msk


def test_default_hours_are_nine_to_six_on_weekdays() -> None:
    week = parse_hours("mon-fri 09:00-18:00")
    assert week[:5] == (((9 * HOUR_S, 18 * HOUR_S),),) * 5
    assert week[5:] == ((), ())


def test_several_items_and_a_lunch_break() -> None:
    week = parse_hours("Mon-Thu 09:00-13:00 14:00-18:00, fri 09:00-16:45")
    assert week[0] == ((9 * HOUR_S, 13 * HOUR_S), (14 * HOUR_S, 18 * HOUR_S))
    assert week[4] == ((9 * HOUR_S, 16 * HOUR_S + 45 * 60),)
    cal = BusinessCalendar("mon-thu 09:00-13:00 14:00-18:00, fri 09:00-16:45")
    assert cal.standard_day_s == 8 * HOUR_S
    # Thursday 12:00 to Friday 12:00: 1 + 4 + 3 hours, lunch excluded.
    assert cal.elapsed(msk(2026, 11, 26, 12), msk(2026, 11, 27, 12)) == 8 * HOUR_S
    assert cal.add(msk(2026, 11, 27, 16), HOUR_S) == msk(2026, 11, 30, 9, 15)


@pytest.mark.parametrize(
    ("spec", "complaint"),
    [
        ("", "empty"),
        ("mon-fri", "is not '<day>"),
        ("mon-fri 9-18", "is not a range"),
        ("mon-frx 09:00-18:00", "'frx' is not a day"),
        ("fri-mon 09:00-18:00", "runs backwards"),
        ("mon 18:00-09:00", "ends before it starts"),
        ("mon 09:00-25:00", "impossible time"),
        ("mon 09:60-10:00", "impossible time"),
        ("mon 09:00-12:00 11:00-13:00", "overlap on mon"),
        ("mon-fri 09:00-18:00,", "is not '<day>"),
    ],
)
def test_bad_hours_spec_names_the_problem(spec: str, complaint: str) -> None:
    with pytest.raises(ValueError, match=complaint):
        BusinessCalendar(spec)


def test_unknown_timezone_and_holiday_calendar_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown timezone 'Mars/Olympus'"):
        BusinessCalendar(timezone="Mars/Olympus")
    with pytest.raises(ValueError, match="unknown holiday calendar 'XX'"):
        BusinessCalendar(holiday_calendar="XX")


def test_naive_datetimes_are_refused(calendar: BusinessCalendar) -> None:
    with pytest.raises(ValueError, match="start must be an aware datetime"):
        calendar.elapsed(datetime(2026, 11, 27, 9), msk(2026, 11, 27, 10))
    with pytest.raises(ValueError, match="end must be an aware datetime"):
        calendar.elapsed(msk(2026, 11, 27, 9), datetime(2026, 11, 27, 10))
    with pytest.raises(ValueError, match="aware"):
        calendar.add(datetime(2026, 11, 27, 9), 60)
    with pytest.raises(ValueError, match="negative"):
        calendar.add(msk(2026, 11, 27, 9), -1)


def test_public_holidays_come_from_the_library(calendar: BusinessCalendar) -> None:
    ru = holidays.country_holidays("RU", years=2027)
    weekday_holidays = [day for day in ru if day.weekday() < 5]
    assert weekday_holidays  # the library knows 2027
    for day in weekday_holidays:
        assert not calendar.is_working_day(day), day
    assert calendar.is_working_day(date(2027, 1, 11))  # a plain Monday after them


def test_moved_working_day_from_the_library_is_worked(calendar: BusinessCalendar) -> None:
    moved = sorted(holidays.country_holidays("RU", years=2027).weekend_workdays)
    assert moved, "the library lists weekend days made working in 2027"
    saturday = moved[0]
    assert saturday.weekday() >= 5
    assert calendar.is_working_day(saturday)
    start = datetime.combine(saturday, datetime.min.time(), calendar.tz)
    assert calendar.elapsed(start, start + timedelta(days=1)) == DAY_S
    # The same calendar without holidays keeps that weekend day closed.
    assert not BusinessCalendar(holiday_calendar="none").is_working_day(saturday)


def test_holiday_calendar_none_turns_holidays_off() -> None:
    cal = BusinessCalendar(holiday_calendar="none")
    assert cal.is_working_day(date(2027, 1, 4))  # a Monday of the New Year holidays
    assert cal.elapsed(msk(2027, 1, 4), msk(2027, 1, 5)) == DAY_S


def test_overrides_win_over_the_library() -> None:
    cal = BusinessCalendar(
        extra_holidays=[date(2026, 11, 30)], extra_working_days=[date(2027, 1, 4)]
    )
    assert not cal.is_working_day(date(2026, 11, 30))
    assert cal.is_working_day(date(2027, 1, 4))
    assert cal.add(msk(2026, 11, 27, 17), HOUR_S) == msk(2026, 11, 27, 18)
    assert cal.add(msk(2026, 11, 27, 17), 2 * HOUR_S) == msk(2026, 12, 1, 10)
    with pytest.raises(ValueError, match="both extra holidays and extra working days"):
        BusinessCalendar(extra_holidays=[date(2027, 1, 4)], extra_working_days=[date(2027, 1, 4)])


def test_always_open_counts_wall_time() -> None:
    cal = BusinessCalendar("mon-sun 00:00-24:00", holiday_calendar="none")
    start, end = msk(2026, 12, 30, 12), msk(2027, 1, 9, 7, 30)
    assert cal.elapsed(start, end) == (end - start).total_seconds()
    assert cal.add(start, 10 * 86400) == start + timedelta(days=10)
    assert cal.is_open(msk(2027, 1, 1, 0))


def test_add_lands_on_closing_time_not_next_opening(calendar: BusinessCalendar) -> None:
    assert calendar.add(msk(2026, 11, 27, 9), DAY_S) == msk(2026, 11, 27, 18)
    assert calendar.add(msk(2026, 11, 28, 12), 1) == msk(2026, 11, 30, 9, 0, 1)
    assert calendar.add(msk(2026, 11, 28, 12), 0) == msk(2026, 11, 28, 12)


def test_other_timezones_are_honoured() -> None:
    cal = BusinessCalendar(timezone="Asia/Vladivostok", holiday_calendar="none")
    start = datetime(2026, 11, 27, 9, tzinfo=cal.tz)
    assert cal.add(start, HOUR_S) == start + timedelta(hours=1)
    assert not cal.is_open(msk(2026, 11, 27, 12))  # 19:00 in Vladivostok


def test_from_settings_reads_the_calendar_group() -> None:
    settings = CalendarSettings(
        hours="mon-sat 10:00-14:00", timezone="UTC", holiday_calendar="none"
    )
    cal = BusinessCalendar.from_settings(settings, extra_holidays=[date(2026, 11, 28)])
    assert cal.standard_day_s == 4 * HOUR_S
    assert not cal.is_working_day(date(2026, 11, 28))
    assert cal.is_working_day(date(2026, 12, 5))


def test_overrides_from_days_sort_the_kinds() -> None:
    overrides = CalendarOverrides.from_days(
        [
            (date(2026, 11, 30), "holiday"),
            (date(2026, 11, 28), "working_day"),
            (date(2026, 12, 31), "holiday"),
        ]
    )
    assert overrides.holidays == {date(2026, 11, 30), date(2026, 12, 31)}
    assert overrides.working_days == {date(2026, 11, 28)}
    assert CalendarOverrides.from_days([]) == NO_OVERRIDES
    with pytest.raises(ValueError, match="'party' is not one of"):
        CalendarOverrides.from_days([(date(2026, 11, 30), "party")])


def test_the_crm_stores_the_kinds_the_core_reads() -> None:
    from crm.models import OverrideKind

    assert tuple(kind.value for kind in OverrideKind) == OVERRIDE_KINDS


def test_calendar_cache_applies_overrides_and_rebuilds_only_on_a_change() -> None:
    cache = CalendarCache(CalendarSettings())
    plain = cache.calendar_with(NO_OVERRIDES)
    assert plain.is_open(msk(2026, 11, 30, 10)) and not plain.is_open(msk(2026, 11, 28, 10))
    assert cache.calendar_with(CalendarOverrides()) is plain
    moved = CalendarOverrides(
        holidays=frozenset({date(2026, 11, 30)}), working_days=frozenset({date(2026, 11, 28)})
    )
    changed = cache.calendar_with(moved)
    assert not changed.is_open(msk(2026, 11, 30, 10)) and changed.is_open(msk(2026, 11, 28, 10))
    assert cache.calendar_with(CalendarOverrides(moved.holidays, moved.working_days)) is changed
    assert cache.calendar_with(NO_OVERRIDES) is not changed
    with pytest.raises(ValueError, match="unknown timezone"):
        CalendarCache(CalendarSettings(timezone="Mars/Olympus"))


def test_spans_far_back_and_forth_agree_with_a_fresh_calendar() -> None:
    used = BusinessCalendar()
    used.elapsed(msk(2027, 3, 1), msk(2027, 3, 2))  # index built around 2027 first
    span = (msk(2021, 12, 20, 15), msk(2024, 1, 10, 11))
    fresh = BusinessCalendar()
    assert used.elapsed(*span) == fresh.elapsed(*span)
    by_year = sum(
        fresh.elapsed(a, b) for a, b in [(span[0], msk(2023, 1, 1)), (msk(2023, 1, 1), span[1])]
    )
    assert used.elapsed(*span) == by_year
    assert used.add(span[0], used.elapsed(*span)) == msk(2024, 1, 10, 11)


def test_a_calendar_without_working_time_says_so() -> None:
    first = date(2026, 11, 23)
    closed = [first + timedelta(days=n) for n in range(8 * 366)]
    cal = BusinessCalendar(extra_holidays=closed)
    assert cal.elapsed(msk(2026, 11, 23), msk(2030, 1, 1)) == 0
    with pytest.raises(ValueError, match="no working time within"):
        cal.add(msk(2026, 11, 23), 1)
