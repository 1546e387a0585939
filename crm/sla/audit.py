"""Map audit-log rows (`crm.models.TicketEvent`) onto the SLA event vocabulary."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, tzinfo
from typing import Any, Protocol

from crm.sla.clock import ClockError
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
)

# Statuses after which the clock no longer runs (a refusal stops it like a solution).
_STOPPED = frozenset({"resolved", "refused", "closed"})


class AuditRow(Protocol):
    """What the mapper reads from a `TicketEvent` row (or anything shaped like it)."""

    at: datetime
    action: str
    field: str | None
    old_value: str | None
    new_value: str | None
    data: dict[str, Any] | None


def events_from_audit(rows: Iterable[AuditRow], naive_tz: tzinfo | None = None) -> list[SlaEvent]:
    """The SLA events of one ticket's audit rows; rows the clock ignores are skipped.

    Rows are ordered by time (stable, so equal times keep the given order, e.g. by id).
    SQLite gives back naive datetimes: pass `naive_tz=UTC` to read them as UTC; without
    it a naive time raises `ValueError`. Raises `ClockError` for a row it cannot read.
    """
    events: list[SlaEvent] = []
    for row in sorted(rows, key=lambda r: _aware(r.at, naive_tz)):
        event = _event(row, _aware(row.at, naive_tz), naive_tz)
        if event is not None:
            events.append(event)
    return events


def _aware(at: datetime, naive_tz: tzinfo | None) -> datetime:
    if at.tzinfo is None and naive_tz is not None:
        return at.replace(tzinfo=naive_tz)
    return at


def _event(row: AuditRow, at: datetime, naive_tz: tzinfo | None) -> SlaEvent | None:
    data = row.data or {}
    old, new = row.old_value, row.new_value
    try:
        if row.action == "created":
            return Created(at, data["category"], int(data["priority"]))
        if row.action == "changed" and row.field == "priority":
            return PriorityChanged(at, int(old or 0), int(new or 0))
        if row.action == "changed" and row.field == "category":
            return CategoryChanged(at, old, new)  # type: ignore[arg-type]
        if row.action == "changed" and row.field == "agreed_deadline" and new:
            return AgreedDeadline(at, _aware(datetime.fromisoformat(new), naive_tz))
        if row.action == "status_changed":
            if new == "suspended":
                return Suspended(
                    at, data["reason"], data.get("note") or "", data.get("external_ref")
                )
            if old == "suspended" and new == "in_progress":
                return Resumed(at)
            if new in _STOPPED:
                return Resolved(at)
            if old == "resolved" and new == "in_progress":
                return Reopened(at)
    except (KeyError, ValueError, TypeError) as exc:
        raise ClockError(
            f"audit row {row.action}/{row.field} at {row.at} cannot be read: {exc!r}"
        ) from exc
    return None
