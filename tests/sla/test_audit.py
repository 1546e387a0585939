"""Audit-log rows (`TicketEvent`) map onto the SLA events and drive the clock."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from core.calendar import BusinessCalendar
from crm.models import TicketEvent
from crm.sla.audit import events_from_audit
from crm.sla.clock import ClockError, sla_clock
from crm.sla.events import Created, PriorityChanged, Reopened, Resolved, Resumed, Suspended
from tests.sla.conftest import HOUR_S, msk


def row(
    at: datetime,
    action: str,
    field: str | None = None,
    old: str | None = None,
    new: str | None = None,
    data: dict | None = None,
) -> TicketEvent:
    return TicketEvent(
        at=at, actor="agent1", action=action, field=field, old_value=old, new_value=new, data=data
    )


def test_a_ticket_history_maps_to_events_and_a_clock(calendar: BusinessCalendar) -> None:
    rows = [
        row(
            msk(2026, 11, 25, 10),
            "created",
            data={"category": "INC", "priority": 3, "summary": "no login"},
        ),
        row(msk(2026, 11, 25, 10, 5), "status_changed", "status", "registered", "in_progress"),
        row(msk(2026, 11, 25, 11), "call_attached", "call", None, "1795311765.1"),
        row(
            msk(2026, 11, 26, 9),
            "status_changed",
            "status",
            "in_progress",
            "suspended",
            data={"reason": "external_system", "external_ref": "VND-12"},
        ),
        row(msk(2026, 11, 26, 12), "status_changed", "status", "suspended", "in_progress"),
        row(msk(2026, 11, 27, 17), "changed", "priority", "3", "1"),
        row(msk(2026, 11, 30, 12), "status_changed", "status", "in_progress", "resolved"),
        row(msk(2026, 11, 30, 15), "status_changed", "status", "resolved", "in_progress"),
    ]
    events = events_from_audit(reversed(rows))  # out of order in, sorted out
    assert [type(e) for e in events] == [
        Created,
        Suspended,
        Resumed,
        PriorityChanged,
        Resolved,
        Reopened,
    ]
    assert events[1].external_ref == "VND-12"
    clock = sla_clock(events, calendar, msk(2026, 11, 30, 16))
    assert clock.priority == 1
    assert clock.elapsed_s == HOUR_S + 3 * HOUR_S + HOUR_S  # Fri 17-18, Mon 9-12, Mon 15-16


def test_naive_sqlite_times_need_a_zone() -> None:
    created = row(datetime(2026, 11, 25, 7), "created", data={"category": "ZnK", "priority": 2})
    with pytest.raises(ValueError, match="aware"):
        events_from_audit([created])
    (event,) = events_from_audit([created], naive_tz=UTC)
    assert event.at == msk(2026, 11, 25, 10)


def test_an_unreadable_row_is_named() -> None:
    bad = row(msk(2026, 11, 25, 10), "status_changed", "status", "in_progress", "suspended")
    with pytest.raises(ClockError, match="status_changed/status"):
        events_from_audit([bad])
