"""The SLA clock of one ticket, derived from its events at a given moment (never stored)."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from core.calendar import BusinessCalendar
from crm.models import Category
from crm.sla.deadlines import BY_AGREEMENT, allowance_s
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

_US = 1_000_000
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class ClockError(ValueError):
    """The event list cannot describe a ticket (wrong order, resume without suspension...)."""


def _us(moment: datetime, what: str) -> int:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{what} must be an aware datetime (with tzinfo), got naive {moment}")
    return (moment - _EPOCH) // timedelta(microseconds=1)


@dataclass(frozen=True)
class SlaClock:
    """The clock at one moment. Times in business seconds; None where there is no deadline.

    `deadline` is the moment the time in work reaches `allowance_s`. Once reached, it is
    that fixed past moment. Before that it is projected: from now while running; while
    suspended, as if work resumed now (so it moves on while the pause lasts); for a
    resolved ticket, as if work had gone on from the resolution. `breached` means the
    deadline passed while the clock was running (before now, the pause or the solution).
    """

    deadline: datetime | None
    allowance_s: float | None
    elapsed_s: float
    remaining_s: float | None
    paused: bool
    breached: bool
    used_share: float | None
    resolved: bool
    reason: SuspendReason | None
    category: Category
    priority: int

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class _Tracker:
    """Replays events; the run segments since the last restart are kept, not counters."""

    def __init__(self, calendar: BusinessCalendar, first: Created) -> None:
        self.cal = calendar
        self.category = first.category
        self.priority = first.priority
        self.allowance_us = self._table_us(first.category, first.priority)
        start = _us(first.at, "created.at")
        # [start_us, end_us or None while running] of each run of the clock.
        self.segments: list[list[int | None]] = [[start, None]]
        self.paused_since: int | None = None
        self.resolved_at: int | None = None
        self.reason: SuspendReason | None = None

    def _table_us(self, category: Category, priority: int) -> int | None:
        allowed = allowance_s(category, priority, self.cal.standard_day_s)
        return None if allowed is None else allowed * _US

    @property
    def running(self) -> bool:
        return self.paused_since is None and self.resolved_at is None

    def _stop(self, at: int) -> None:
        self.segments[-1][1] = at

    def _restart(self, at: int) -> None:
        self.segments = [[at, None]] if self.running else []

    def elapsed_us(self, until: int) -> int:
        return sum(self.cal.elapsed_us(s, until if e is None else e) for s, e in self.segments)

    def apply(self, event: SlaEvent, at: int) -> None:
        if isinstance(event, Created):
            raise ClockError("a second Created event")
        if isinstance(event, PriorityChanged):
            if event.old != self.priority:
                raise ClockError(f"priority changed from {event.old} but it was {self.priority}")
            new_us = self._table_us(self.category, event.new)
            self.priority = event.new
            self.allowance_us = new_us
            if event.new < event.old:  # a smaller number is a higher priority
                self._restart(at)
        elif isinstance(event, CategoryChanged):
            if event.old != self.category:
                raise ClockError(f"category changed from {event.old} but it was {self.category}")
            new_us = self._table_us(event.new, self.priority)
            inf = math.inf
            shorter = (new_us if new_us is not None else inf) < (
                self.allowance_us if self.allowance_us is not None else inf
            )
            self.category = event.new
            if self.priority != BY_AGREEMENT:
                self.allowance_us = new_us
            if shorter:
                self._restart(at)
        elif isinstance(event, Suspended):
            if self.resolved_at is not None:
                raise ClockError("suspended after the ticket was resolved")
            if self.paused_since is None:  # a second suspension only updates the reason
                self._stop(at)
                self.paused_since = at
            self.reason = event.reason
        elif isinstance(event, Resumed):
            if self.paused_since is None:
                raise ClockError("resumed but the ticket was not suspended")
            self.paused_since = None
            self.reason = None
            self.segments.append([at, None])
        elif isinstance(event, Resolved):
            if self.resolved_at is not None:
                return  # resolved then closed: the clock already stopped
            if self.paused_since is None:
                self._stop(at)
            self.paused_since, self.reason, self.resolved_at = None, None, at
        elif isinstance(event, Reopened):
            if self.resolved_at is None:
                raise ClockError("reopened but the ticket was not resolved")
            self.resolved_at = None
            self.segments.append([at, None])
        elif isinstance(event, AgreedDeadline):
            if self.priority != BY_AGREEMENT:
                raise ClockError(
                    f"an agreed deadline applies to priority {BY_AGREEMENT} only, "
                    f"the ticket is priority {self.priority}"
                )
            deadline = _us(event.deadline, "agreed deadline")
            self.allowance_us = self.elapsed_us(at) + self.cal.elapsed_us(at, deadline)
        else:
            raise ClockError(f"not an SLA event: {event!r}")

    def clock(self, now: int) -> SlaClock:
        elapsed = self.elapsed_us(now)
        deadline_us: int | None = None
        allowance = self.allowance_us
        if allowance is not None:
            used = 0
            for start, end in self.segments:
                span = self.cal.elapsed_us(start, now if end is None else end)
                if used + span >= allowance:
                    deadline_us = self.cal.add_us(start, allowance - used)
                    break
                used += span
            else:
                reference = now if self.resolved_at is None else self.resolved_at
                deadline_us = self.cal.add_us(reference, allowance - elapsed)
        stop = self.resolved_at if self.resolved_at is not None else self.paused_since
        stopped_at = now if stop is None else stop
        return SlaClock(
            deadline=None
            if deadline_us is None
            else (_EPOCH + timedelta(microseconds=deadline_us)).astimezone(self.cal.tz),
            allowance_s=None if allowance is None else allowance / _US,
            elapsed_s=elapsed / _US,
            remaining_s=None if allowance is None else (allowance - elapsed) / _US,
            paused=self.paused_since is not None,
            breached=deadline_us is not None and deadline_us < stopped_at,
            used_share=None if not allowance else elapsed / allowance,
            resolved=self.resolved_at is not None,
            reason=self.reason,
            category=self.category,
            priority=self.priority,
        )


def sla_clock(events: Iterable[SlaEvent], calendar: BusinessCalendar, now: datetime) -> SlaClock:
    """The clock at `now` from a ticket's chronological events; later events are ignored.

    Raises `ClockError` for an impossible list and `ValueError` for a naive `now`.
    """
    now_us = _us(now, "now")
    tracker: _Tracker | None = None
    last_us: int | None = None
    for index, event in enumerate(events):
        at = _us(event.at, f"event {index} at")
        if last_us is not None and at < last_us:
            raise ClockError(
                f"event {index} ({type(event).__name__}) is earlier than the one "
                "before it; events must be in chronological order"
            )
        last_us = at
        if at > now_us:
            break
        if tracker is None:
            if not isinstance(event, Created):
                raise ClockError(f"the first event must be Created, got {type(event).__name__}")
            tracker = _Tracker(calendar, event)
        else:
            tracker.apply(event, at)
    if tracker is None:
        raise ClockError("no Created event at or before now")
    return tracker.clock(now_us)


def escalation_due(
    clock: SlaClock, threshold_share: float = 0.75, third_line_share: float | None = None
) -> int:
    """The support line (1, 2 or 3) the ticket should be at, by the share of time used.

    Line 2 from `threshold_share` of the allowance; line 3 from `third_line_share`
    (default: halfway from the threshold to the deadline, 0.875), so both escalations come
    before the deadline. A ticket with no deadline (priority 4 unagreed) stays at line 1.
    """
    third = (1 + threshold_share) / 2 if third_line_share is None else third_line_share
    if not 0 < threshold_share < third:
        raise ValueError(
            f"need 0 < threshold_share < third_line_share, got {threshold_share}, {third}"
        )
    if clock.used_share is None or clock.used_share < threshold_share:
        return 1
    return 2 if clock.used_share < third else 3
