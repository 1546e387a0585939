"""SLA core: business calendar, Table 2 deadlines, and the ticket clock derived from events.

Pure logic: no database, no HTTP. The public interface:

- `BusinessCalendar(hours, timezone, holiday_calendar, extra_holidays, extra_working_days)`
  (or `BusinessCalendar.from_settings(settings.calendar)`): `elapsed(start, end)` business
  seconds, `add(start, business_s)` the aware datetime the clock reaches, `is_open(at)`,
  `is_working_day(day)`, `standard_day_s` (one business day). Hours spec:
  `mon-thu 09:00-13:00 14:00-18:00, fri 09:00-16:45`; `mon-sun 00:00-24:00` is always
  open. Holidays and weekend days moved to working days come from the `holidays`
  library (`RU` by default, `none` for none). Bad specs, zones, naive datetimes:
  `ValueError` naming the problem.
- `allowance_s(category, priority, standard_day_s)`: Table 2 in business seconds
  (None for priority 4, "by agreement").
- Events (`crm.sla.events`): `Created`, `PriorityChanged`, `CategoryChanged`,
  `Suspended` (a Table 5 `SuspendReason`), `Resumed`, `Resolved`, `Reopened`,
  `AgreedDeadline`; `events_from_audit(rows)` reads them from `TicketEvent` rows.
- `sla_clock(events, calendar, now) -> SlaClock` (`.as_dict()`: deadline, allowance_s,
  elapsed_s, remaining_s, paused, breached, used_share, ...), and
  `escalation_due(clock, threshold_share=0.75) -> 1 | 2 | 3`.

Rules: the clock runs in business hours while not suspended or resolved; lowering the
priority keeps the time in work (new allowance minus it), raising restarts the clock at
the moment of raising. While suspended the deadline is reported as if work resumed now.

Example:

>>> from datetime import datetime
>>> from zoneinfo import ZoneInfo
>>> msk = ZoneInfo("Europe/Moscow")
>>> cal = BusinessCalendar()  # mon-fri 09:00-18:00, Europe/Moscow, RU holidays
>>> events = [
...     Created(datetime(2026, 11, 25, 10, tzinfo=msk), "INC", 3),
...     PriorityChanged(datetime(2026, 11, 27, 17, tzinfo=msk), old=3, new=1),
... ]
>>> clock = sla_clock(events, cal, now=datetime(2026, 11, 28, 12, tzinfo=msk))
>>> clock.deadline.isoformat(), clock.elapsed_s, clock.remaining_s, clock.breached
('2026-11-30T17:00:00+03:00', 3600.0, 28800.0, False)
>>> escalation_due(clock)
1
"""

from core.calendar import BusinessCalendar, parse_hours
from crm.sla.audit import events_from_audit
from crm.sla.clock import ClockError, SlaClock, escalation_due, sla_clock
from crm.sla.deadlines import allowance_days, allowance_s
from crm.sla.events import (
    AgreedDeadline,
    CategoryChanged,
    Created,
    PriorityChanged,
    Reopened,
    Resolved,
    Resumed,
    SlaEvent,
    Suspended,
    SuspendReason,
)

__all__ = [
    "AgreedDeadline",
    "BusinessCalendar",
    "CategoryChanged",
    "ClockError",
    "Created",
    "PriorityChanged",
    "Reopened",
    "Resolved",
    "Resumed",
    "SlaClock",
    "SlaEvent",
    "SuspendReason",
    "Suspended",
    "allowance_days",
    "allowance_s",
    "escalation_due",
    "events_from_audit",
    "parse_hours",
    "sla_clock",
]
