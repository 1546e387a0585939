"""The call log as CSV: one row per call, newest first, read page by page (keyset) so a
long export never holds more than a page."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from crm.calls.schemas import CallLogEntry
from crm.calls.service import CallFilter, list_calls
from crm.csv_export import CsvRows

HEADER = [
    "linkedid",
    "started_at",
    "answered_at",
    "ended_at",
    "caller_number",
    "caller_name",
    "uins",
    "queues",
    "waits_s",
    "holdtimes_s",
    "agents",
    "transfers",
    "outcome",
    "wait_s",
    "talk_s",
    "hung_up_by",
    "solved",
    "score",
]
PAGE = 500


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def _row(call: CallLogEntry) -> list[Any]:
    entries = call.queue_entries
    return [
        call.linkedid,
        _iso(call.started_at),
        _iso(call.answered_at),
        _iso(call.ended_at),
        call.caller_number,
        call.caller_name,
        ", ".join(call.uins),
        ", ".join(e.queue for e in entries),
        ", ".join("" if e.wait_s is None else f"{e.wait_s:g}" for e in entries),
        ", ".join("" if e.wait_whole_s is None else str(e.wait_whole_s) for e in entries),
        ", ".join(call.agents),
        ", ".join(f"{t.n}: {t.from_agent or '?'} -> {t.to} ({t.how})" for t in call.transfers),
        call.outcome,
        call.wait_s,
        call.talk_s,
        call.hung_up_by,
        call.survey.solved if call.survey else None,
        call.survey.score if call.survey else None,
    ]


async def calls_csv(
    engine: AsyncEngine, wanted: CallFilter, rows: CsvRows, cursor: str | None = None
) -> AsyncIterator[str]:
    """CSV text in pieces, a page of calls each (the header is the caller's)."""
    while True:
        page = await list_calls(engine, wanted, PAGE, cursor)
        yield rows.piece(_row(call) for call in page.calls)
        cursor = page.next_cursor
        if cursor is None:
            return
