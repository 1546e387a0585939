"""The audit rows of a ticket (`ticket_events`): built here only, for every way of writing one.

A row is a dict of `TicketEvent` columns without `ticket_id` (the writer knows it). A row
with no `data` leaves the key out, so the column is SQL NULL on every path.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

AuditRow = dict[str, Any]


def as_text(value: Any) -> str | None:
    """How an old or new value is kept: ISO 8601 for a time, an enum's value, else str."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value.value if hasattr(value, "value") else value)


def _row(
    at: datetime,
    actor: str,
    action: str,
    field: str | None = None,
    old: Any = None,
    new: Any = None,
    data: dict[str, Any] | None = None,
) -> AuditRow:
    row: AuditRow = {
        "at": at,
        "actor": actor,
        "action": action,
        "field": field,
        "old_value": as_text(old),
        "new_value": as_text(new),
    }
    if data is not None:
        row["data"] = data
    return row


def creation_data(fields: Mapping[str, Any]) -> dict[str, Any]:
    """The `created` row's payload: the fields given (an agreed deadline has its own row)."""
    return {
        name: getattr(value, "value", value)
        for name, value in fields.items()
        if value is not None and name != "agreed_deadline"
    }


def creation_rows(
    fields: Mapping[str, Any], at: datetime, actor: str, linkedid: str | None = None
) -> list[AuditRow]:
    """The rows of a new ticket, in the order they are written.

    `created` with its fields; `changed` for an agreed deadline (the SLA clock reads it
    from that row, as from a later change); `call_attached` when it was opened in a call.
    """
    rows = [_row(at, actor, "created", data=creation_data(fields))]
    if fields.get("agreed_deadline") is not None:
        rows.append(_row(at, actor, "changed", "agreed_deadline", new=fields["agreed_deadline"]))
    if linkedid is not None:
        rows.append(call_attached_row(linkedid, at, actor))
    return rows


def change_row(field: str, old: Any, new: Any, at: datetime, actor: str) -> AuditRow:
    """One changed field (a status has its own action, `status_changed`)."""
    action = "status_changed" if field == "status" else "changed"
    return _row(at, actor, action, field, old, new)


def call_attached_row(linkedid: str, at: datetime, actor: str) -> AuditRow:
    """Call `linkedid` recorded on the ticket."""
    return _row(at, actor, "call_attached", "call", new=linkedid)


def withdrawn_row(into: str, reason: str, at: datetime, actor: str) -> AuditRow:
    """The withdrawn ticket's row: its status, where its call went, and why."""
    data = {"into": into, "reason": reason}
    return _row(at, actor, "status_changed", "status", "registered", "withdrawn", data)


def received_withdrawn_row(withdrawn_uin: str, reason: str, at: datetime, actor: str) -> AuditRow:
    """The receiving ticket's row: the UIN withdrawn into it (its calls are now here)."""
    return _row(at, actor, "uin_withdrawn_into", "uin", new=withdrawn_uin, data={"reason": reason})
