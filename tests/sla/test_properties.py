"""Property tests of business time and the clock across weekends, New Year and moved days."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import holidays
from hypothesis import given, settings
from hypothesis import strategies as st

from core.calendar import BusinessCalendar
from crm.models import Category
from crm.sla.clock import sla_clock
from crm.sla.events import Created, PriorityChanged, Resumed, Suspended, SuspendReason
from tests.sla.conftest import DAY_S, MSK

CAL = BusinessCalendar()  # module-level so hypothesis examples share the day cache
RU = holidays.country_holidays("RU", years=range(2026, 2029))

# Windows that hold the hard cases: New Year 2027, the moved Saturday of Feb 2027,
# ordinary weekends, and the 2027/28 New Year.
WINDOWS = [date(2026, 12, 24), date(2027, 2, 15), date(2026, 11, 26), date(2027, 12, 27)]


def us(seconds: float) -> int:
    return round(seconds * 1_000_000)


@st.composite
def moments(draw: st.DrawFn) -> datetime:
    base = datetime.combine(draw(st.sampled_from(WINDOWS)), time(), MSK)
    offset_s = draw(st.integers(min_value=0, max_value=25 * 86400))
    micro = draw(st.sampled_from([0, 0, 1, 999_999]))
    return base + timedelta(seconds=offset_s, microseconds=micro)


def reference_elapsed_us(start: datetime, end: datetime) -> int:
    """Independent of the calendar code: the library's days x naive local 09:00-18:00."""
    a, b = start.astimezone(MSK).replace(tzinfo=None), end.astimezone(MSK).replace(tzinfo=None)
    total = timedelta(0)
    day = a.date()
    while day <= b.date():
        working = (day.weekday() < 5 or day in RU.weekend_workdays) and day not in RU
        if working:
            lo = max(a, datetime.combine(day, time(9)))
            hi = min(b, datetime.combine(day, time(18)))
            total += max(timedelta(0), hi - lo)
        day += timedelta(days=1)
    return total // timedelta(microseconds=1)


@settings(max_examples=300, deadline=None)
@given(moments(), moments())
def test_elapsed_matches_an_independent_reference(a: datetime, b: datetime) -> None:
    start, end = min(a, b), max(a, b)
    assert us(CAL.elapsed(start, end)) == reference_elapsed_us(start, end)


@settings(max_examples=300, deadline=None)
@given(moments(), st.integers(min_value=0, max_value=12 * DAY_S), st.integers(0, 999))
def test_add_then_elapsed_round_trips(start: datetime, business_s: int, ms: int) -> None:
    amount_s = business_s + ms / 1000
    deadline = CAL.add(start, amount_s)
    assert us(CAL.elapsed(start, deadline)) == us(amount_s)
    if amount_s > 0:  # and it is the earliest such moment
        assert CAL.elapsed(start, deadline - timedelta(microseconds=1)) < amount_s
        assert CAL.is_working_day(deadline.date())


@settings(max_examples=300, deadline=None)
@given(moments(), moments(), moments())
def test_elapsed_is_monotonic_and_additive(a: datetime, b: datetime, c: datetime) -> None:
    first, middle, last = sorted((a, b, c))
    assert CAL.elapsed(first, middle) <= CAL.elapsed(first, last)
    assert us(CAL.elapsed(first, last)) == us(CAL.elapsed(first, middle)) + us(
        CAL.elapsed(middle, last)
    )


@st.composite
def tickets(draw: st.DrawFn) -> tuple[list, list]:
    """A P3 incident with random suspensions; returns (events, pause intervals)."""
    created = draw(moments())
    priority = draw(st.sampled_from([1, 2, 3]))
    events: list = [Created(created, Category.incident, priority)]
    pauses: list[tuple[datetime, datetime | None]] = []
    at = created
    for _ in range(draw(st.integers(0, 4))):
        at += timedelta(seconds=draw(st.integers(1, 5 * 86400)))
        reason = draw(st.sampled_from([r for r in SuspendReason if r != "external_system"]))
        events.append(Suspended(at, reason))
        start = at
        if draw(st.booleans()):
            at += timedelta(seconds=draw(st.integers(1, 5 * 86400)))
            events.append(Resumed(at))
            pauses.append((start, at))
        else:
            pauses.append((start, None))
            break
    return events, pauses


@settings(max_examples=200, deadline=None)
@given(tickets(), st.integers(0, 30 * 86400))
def test_a_pause_never_adds_elapsed_time(ticket: tuple[list, list], later_s: int) -> None:
    events, pauses = ticket
    now = events[-1].at + timedelta(seconds=later_s)
    with_pauses = sla_clock(events, CAL, now)
    without = sla_clock(events[:1], CAL, now)
    paused_s = sum(CAL.elapsed(start, end or now) for start, end in pauses)
    assert with_pauses.elapsed_s <= without.elapsed_s
    # Compared in whole microseconds: float subtraction is not exact.
    assert us(with_pauses.elapsed_s) == us(without.elapsed_s) - us(paused_s)
    if with_pauses.remaining_s > 0:
        # Projected deadline: exactly the remaining business time from now.
        assert us(CAL.elapsed(now, with_pauses.deadline)) == us(with_pauses.remaining_s)
        assert not with_pauses.breached


@settings(max_examples=200, deadline=None)
@given(tickets(), st.integers(0, 20 * 86400), st.integers(0, 20 * 86400))
def test_clock_elapsed_is_monotonic_in_wall_time(
    ticket: tuple[list, list], first_s: int, extra_s: int
) -> None:
    events, _ = ticket
    earlier = events[0].at + timedelta(seconds=first_s)
    later = earlier + timedelta(seconds=extra_s)
    early_clock, late_clock = sla_clock(events, CAL, earlier), sla_clock(events, CAL, later)
    assert early_clock.elapsed_s <= late_clock.elapsed_s
    if early_clock.breached and not late_clock.paused and not early_clock.paused:
        assert late_clock.breached


@settings(max_examples=150, deadline=None)
@given(moments(), st.integers(1, 10 * 86400), st.integers(0, 10 * 86400), st.booleans())
def test_lowering_keeps_elapsed_and_raising_restarts(
    created: datetime, change_after_s: int, later_s: int, lowering: bool
) -> None:
    old, new = (1, 3) if lowering else (3, 1)
    changed = created + timedelta(seconds=change_after_s)
    now = changed + timedelta(seconds=later_s)
    events = [Created(created, Category.incident, old), PriorityChanged(changed, old, new)]
    clock = sla_clock(events, CAL, now)
    if lowering:
        assert clock.elapsed_s == CAL.elapsed(created, now)
        assert clock.allowance_s == 5 * DAY_S
    else:
        assert clock.elapsed_s == CAL.elapsed(changed, now)
        assert clock.allowance_s == DAY_S
    assert us(clock.remaining_s) == us(clock.allowance_s) - us(clock.elapsed_s)
