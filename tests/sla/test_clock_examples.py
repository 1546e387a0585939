"""Worked examples of the SLA clock: raising, lowering, suspensions, P4, breaches, errors."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import holidays
import pytest

from core.calendar import BusinessCalendar
from crm.errors import InvalidClassification
from crm.models import Category
from crm.sla.clock import ClockError, escalation_due, sla_clock
from crm.sla.events import (
    AgreedDeadline,
    CategoryChanged,
    Created,
    PriorityChanged,
    Reopened,
    Resolved,
    Resumed,
    Suspended,
    SuspendReason,
)
from tests.sla.conftest import DAY_S, HOUR_S, msk

INC, ZNK = Category.incident, Category.consultation


def nth_ru_working_day(year: int, month: int, n: int) -> date:
    """Straight from the library (not through our calendar): the n-th working day."""
    ru = holidays.country_holidays("RU", years=year)
    day, found = date(year, month, 1), 0
    while True:
        if (day.weekday() < 5 or day in ru.weekend_workdays) and day not in ru:
            found += 1
            if found == n:
                return day
        day += timedelta(days=1)


def test_raising_to_p1_on_friday_evening_is_due_monday(calendar: BusinessCalendar) -> None:
    events = [
        Created(msk(2026, 11, 25, 10), INC, 3),
        PriorityChanged(msk(2026, 11, 27, 17), old=3, new=1),
    ]
    before = sla_clock(events, calendar, msk(2026, 11, 27, 16, 59))
    assert before.priority == 3 and before.elapsed_s > 20 * HOUR_S
    clock = sla_clock(events, calendar, msk(2026, 11, 28, 12))
    assert clock.deadline == msk(2026, 11, 30, 17)
    assert clock.allowance_s == DAY_S
    assert clock.elapsed_s == HOUR_S  # restarted at 17:00: only Friday 17-18 counts
    assert clock.remaining_s == 8 * HOUR_S
    assert not clock.breached and not clock.paused


def test_p2_before_new_year_is_due_on_the_second_working_day_of_january(
    calendar: BusinessCalendar,
) -> None:
    events = [Created(msk(2026, 12, 30, 12), INC, 2)]
    clock = sla_clock(events, calendar, msk(2026, 12, 30, 12, 30))
    second = nth_ru_working_day(2027, 1, 2)
    assert clock.deadline == datetime.combine(second, datetime.min.time(), calendar.tz).replace(
        hour=12
    )
    assert clock.deadline.date() > date(2027, 1, 8)  # past the New Year holidays


def test_lowering_keeps_the_time_already_in_work(calendar: BusinessCalendar) -> None:
    # P1 on Monday 10:00, lowered to P3 at 15:00 after 5 h in work: 45 h - 5 h = 40 h left,
    # Mon 3 + Tue..Fri 36 + Mon 1 -> Monday 30 Nov 10:00.
    events = [
        Created(msk(2026, 11, 23, 10), INC, 1),
        PriorityChanged(msk(2026, 11, 23, 15), old=1, new=3),
    ]
    clock = sla_clock(events, calendar, msk(2026, 11, 23, 15))
    assert clock.allowance_s == 5 * DAY_S
    assert clock.elapsed_s == 5 * HOUR_S
    assert clock.remaining_s == 40 * HOUR_S
    assert clock.deadline == msk(2026, 11, 30, 10)
    as_if_p3 = sla_clock([Created(msk(2026, 11, 23, 10), INC, 3)], calendar, msk(2026, 11, 24))
    assert clock.deadline == as_if_p3.deadline


def test_lowering_a_consultation_after_a_pause(calendar: BusinessCalendar) -> None:
    # ZnK P2 (45 h): 4 h in work, 1 day suspended, then lowered to P3 (63 h).
    events = [
        Created(msk(2026, 11, 23, 9), ZNK, 2),
        Suspended(msk(2026, 11, 23, 13), SuspendReason.more_information),
        Resumed(msk(2026, 11, 24, 13)),
        PriorityChanged(msk(2026, 11, 24, 14), old=2, new=3),
    ]
    clock = sla_clock(events, calendar, msk(2026, 11, 24, 14))
    assert clock.elapsed_s == 5 * HOUR_S
    assert clock.remaining_s == 7 * DAY_S - 5 * HOUR_S
    assert calendar.elapsed(msk(2026, 11, 24, 14), clock.deadline) == clock.remaining_s


def test_suspension_over_a_weekend(calendar: BusinessCalendar) -> None:
    # INC P2 (18 h) from Thu 09:00; 12 h used by Fri 12:00; paused till Mon 14:00.
    events = [
        Created(msk(2026, 11, 26, 9), INC, 2),
        Suspended(msk(2026, 11, 27, 12), SuspendReason.external_system, external_ref="EXT-77"),
        Resumed(msk(2026, 11, 30, 14)),
    ]
    paused = sla_clock(events, calendar, msk(2026, 11, 28, 12))
    assert paused.paused and paused.reason is SuspendReason.external_system
    assert paused.elapsed_s == 12 * HOUR_S
    assert paused.deadline == msk(2026, 11, 30, 15)  # as if resumed now (Saturday)
    later = sla_clock(events, calendar, msk(2026, 11, 30, 13))
    assert later.elapsed_s == paused.elapsed_s  # Monday morning still paused
    assert later.deadline == msk(2026, 12, 1, 10)  # the projection moves on while paused
    running = sla_clock(events, calendar, msk(2026, 11, 30, 15))
    assert not running.paused and running.elapsed_s == 13 * HOUR_S
    assert running.deadline == msk(2026, 12, 1, 11)  # 4 h Monday + 2 h Tuesday
    no_pause = sla_clock(events[:1], calendar, msk(2026, 11, 26, 10))
    assert no_pause.deadline == msk(2026, 11, 27, 18)


def test_p4_without_agreement_has_no_deadline(calendar: BusinessCalendar) -> None:
    events = [Created(msk(2026, 11, 23, 9), INC, 4)]
    clock = sla_clock(events, calendar, msk(2026, 12, 30, 9))
    assert clock.deadline is None and clock.allowance_s is None
    assert clock.remaining_s is None and clock.used_share is None
    assert clock.elapsed_s > 100 * HOUR_S
    assert not clock.breached
    assert escalation_due(clock) == 1


def test_p4_with_an_agreed_deadline(calendar: BusinessCalendar) -> None:
    agreed = msk(2026, 12, 10, 15)
    events = [
        Created(msk(2026, 11, 23, 9), ZNK, 4),
        AgreedDeadline(msk(2026, 11, 23, 11), agreed),
    ]
    clock = sla_clock(events, calendar, msk(2026, 11, 24, 9))
    assert clock.deadline == agreed
    assert clock.allowance_s == calendar.elapsed(msk(2026, 11, 23, 9), agreed)
    # A day's suspension moves the agreed deadline on by a business day.
    paused = [
        *events,
        Suspended(msk(2026, 11, 25, 9), SuspendReason.customer_agreement),
        Resumed(msk(2026, 11, 26, 9)),
    ]
    assert sla_clock(paused, calendar, msk(2026, 11, 26, 10)).deadline == msk(2026, 12, 11, 15)
    assert sla_clock(events, calendar, msk(2026, 12, 10, 16)).breached


def test_breach_over_the_weekend_and_resolution(calendar: BusinessCalendar) -> None:
    events = [Created(msk(2026, 11, 27, 9), INC, 1)]
    at_close = sla_clock(events, calendar, msk(2026, 11, 27, 18))
    assert at_close.remaining_s == 0 and not at_close.breached
    saturday = sla_clock(events, calendar, msk(2026, 11, 28, 12))
    assert saturday.remaining_s == 0 and saturday.breached
    assert saturday.deadline == msk(2026, 11, 27, 18)
    on_time = [*events, Resolved(msk(2026, 11, 27, 17))]
    done = sla_clock(on_time, calendar, msk(2026, 12, 3))
    assert done.resolved and not done.breached and done.elapsed_s == 8 * HOUR_S
    late = sla_clock([*events, Resolved(msk(2026, 11, 30, 10))], calendar, msk(2026, 12, 3))
    assert late.breached and late.elapsed_s == 10 * HOUR_S
    assert late.deadline == msk(2026, 11, 27, 18)


def test_reopening_runs_on_without_the_time_with_the_caller(calendar: BusinessCalendar) -> None:
    events = [
        Created(msk(2026, 11, 23, 9), INC, 2),
        Resolved(msk(2026, 11, 23, 12)),
        Resolved(msk(2026, 11, 23, 13)),  # then closed: no change
        Reopened(msk(2026, 11, 24, 9)),
    ]
    clock = sla_clock(events, calendar, msk(2026, 11, 24, 10))
    assert not clock.resolved and clock.elapsed_s == 4 * HOUR_S
    assert clock.deadline == msk(2026, 11, 25, 15)


def test_category_change_to_a_tighter_allowance_restarts(calendar: BusinessCalendar) -> None:
    events = [
        Created(msk(2026, 11, 23, 9), ZNK, 3),
        CategoryChanged(msk(2026, 11, 23, 12), ZNK, INC),
    ]
    tighter = sla_clock(events, calendar, msk(2026, 11, 23, 13))
    assert tighter.category is INC and tighter.elapsed_s == HOUR_S
    assert tighter.allowance_s == 5 * DAY_S
    looser = [Created(msk(2026, 11, 23, 9), INC, 3), CategoryChanged(events[1].at, INC, ZNK)]
    kept = sla_clock(looser, calendar, msk(2026, 11, 23, 13))
    assert kept.elapsed_s == 4 * HOUR_S and kept.allowance_s == 7 * DAY_S


def test_raising_while_suspended_restarts_on_resumption(calendar: BusinessCalendar) -> None:
    events = [
        Created(msk(2026, 11, 23, 9), INC, 3),
        Suspended(msk(2026, 11, 23, 12), SuspendReason.diagnostics),
        PriorityChanged(msk(2026, 11, 24, 9), old=3, new=2),
        Resumed(msk(2026, 11, 25, 9)),
    ]
    assert sla_clock(events, calendar, msk(2026, 11, 24, 10)).elapsed_s == 0
    clock = sla_clock(events, calendar, msk(2026, 11, 25, 10))
    assert clock.elapsed_s == HOUR_S and clock.deadline == msk(2026, 11, 26, 18)


def test_escalation_lines_follow_the_share_used(calendar: BusinessCalendar) -> None:
    events = [Created(msk(2026, 11, 23, 9), INC, 1)]  # 9 h allowance
    lines = [
        escalation_due(sla_clock(events, calendar, msk(2026, 11, 23, h)))
        for h in (9, 15, 16, 17, 18)
    ]
    # shares 0, 6/9, 7/9 (>= .75), 8/9 (>= .875), 9/9
    assert lines == [1, 1, 2, 3, 3]
    clock = sla_clock(events, calendar, msk(2026, 11, 23, 15))
    assert escalation_due(clock, threshold_share=0.5, third_line_share=0.9) == 2
    with pytest.raises(ValueError, match="threshold_share"):
        escalation_due(clock, threshold_share=0.9, third_line_share=0.5)


def test_as_dict_has_the_documented_keys(calendar: BusinessCalendar) -> None:
    result = sla_clock([Created(msk(2026, 11, 23, 9), INC, 1)], calendar, msk(2026, 11, 23, 10))
    data = result.as_dict()
    for key in (
        "deadline",
        "allowance_s",
        "elapsed_s",
        "remaining_s",
        "paused",
        "breached",
        "used_share",
    ):
        assert key in data
    assert data["used_share"] == pytest.approx(1 / 9)


@pytest.mark.parametrize(
    ("events", "complaint"),
    [
        ([Resumed(msk(2026, 11, 23, 9))], "first event must be Created"),
        ([Created(msk(2026, 11, 23, 9), INC, 2), Resumed(msk(2026, 11, 23, 10))], "not suspended"),
        ([Created(msk(2026, 11, 23, 9), INC, 2), Reopened(msk(2026, 11, 23, 10))], "not resolved"),
        ([Created(msk(2026, 11, 23, 9), INC, 2), Resolved(msk(2026, 11, 23, 8))], "chronological"),
        (
            [Created(msk(2026, 11, 23, 9), INC, 2), PriorityChanged(msk(2026, 11, 23, 9), 3, 1)],
            "it was 2",
        ),
        (
            [
                Created(msk(2026, 11, 23, 9), INC, 2),
                AgreedDeadline(msk(2026, 11, 23, 9), msk(2026, 12, 1, 9)),
            ],
            "priority 4 only",
        ),
        (
            [
                Created(msk(2026, 11, 23, 9), INC, 2),
                Resolved(msk(2026, 11, 23, 10)),
                Suspended(msk(2026, 11, 23, 11), SuspendReason.diagnostics),
            ],
            "after the ticket",
        ),
    ],
)
def test_impossible_event_lists_are_refused(calendar: BusinessCalendar, events, complaint) -> None:
    with pytest.raises(ClockError, match=complaint):
        sla_clock(events, calendar, msk(2026, 11, 24))


def test_bad_events_and_naive_now_are_refused(calendar: BusinessCalendar) -> None:
    with pytest.raises(ValueError, match="external_ref"):
        Suspended(msk(2026, 11, 23, 9), SuspendReason.external_system)
    with pytest.raises(ValueError, match="aware"):
        Created(datetime(2026, 11, 23, 9), INC, 2)
    with pytest.raises(ValueError, match="not after"):
        AgreedDeadline(msk(2026, 11, 23, 9), msk(2026, 11, 23, 8))
    with pytest.raises(ValueError, match="'sleeping' is not a valid"):
        Suspended(msk(2026, 11, 23, 9), "sleeping")
    with pytest.raises(InvalidClassification):
        sla_clock([Created(msk(2026, 11, 23, 9), ZNK, 1)], calendar, msk(2026, 11, 24))
    with pytest.raises(ValueError, match="now must be an aware"):
        sla_clock([Created(msk(2026, 11, 23, 9), INC, 1)], calendar, datetime(2026, 11, 24))
    with pytest.raises(ClockError, match="no Created event"):
        sla_clock([Created(msk(2026, 11, 23, 9), INC, 1)], calendar, msk(2026, 11, 22))


def test_a_moved_working_saturday_counts(calendar: BusinessCalendar) -> None:
    saturday = sorted(holidays.country_holidays("RU", years=2027).weekend_workdays)[0]
    friday = saturday - timedelta(days=1)
    created = datetime.combine(friday, datetime.min.time(), calendar.tz).replace(hour=17)
    clock = sla_clock([Created(created, INC, 1)], calendar, created)
    # 1 h on Friday, 8 h on the Saturday worked by decree.
    assert clock.deadline == created + timedelta(days=1)
    plain = BusinessCalendar(holiday_calendar="none")
    assert sla_clock([Created(created, INC, 1)], plain, created).deadline.date() > saturday
