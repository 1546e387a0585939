"""`hotline reconcile queue-log FILE`: Hotline's recorded queue entries against Asterisk's
`queue_log` (calls Asterisk handled that Hotline did not record, entries Asterisk does not
know, waits more than 1 s apart)."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from core.settings import Settings
from crm.reconcile.queue_log import read_queue_log
from crm.reconcile.service import reconcile_queue_log


def _moment(value: str | None, tz: ZoneInfo) -> datetime | None:
    if value is None:
        return None
    moment = datetime.fromisoformat(value)  # ValueError names the bad text
    return moment if moment.tzinfo else moment.replace(tzinfo=tz)


def run_reconcile(
    settings: Settings, path: Path, start_text: str | None, end_text: str | None
) -> dict[str, Any]:
    """The report; ValueError for an unreadable file or range."""
    tz = ZoneInfo(settings.calendar.timezone)
    try:
        # split at LF only: a CR or another line separator inside a line is the line's
        data = path.read_bytes()
    except OSError as exc:
        raise ValueError(f"cannot read {path}: {exc.strerror}") from None
    log = read_queue_log(data.split(b"\n"))
    start, end = _moment(start_text, tz), _moment(end_text, tz)
    moments = [e.entered_at for e in log.entries]
    if start is None:
        start = min(moments) if moments else datetime.now(UTC)
    if end is None:
        end = max(moments) + timedelta(seconds=1) if moments else start + timedelta(seconds=1)
    if start >= end:
        raise ValueError("--from must be before --to")
    return asyncio.run(_reconcile(settings, log, start, end))


async def _reconcile(settings: Settings, log: Any, start: datetime, end: datetime) -> dict:
    from crm.db import make_engine

    engine = make_engine(settings.db.url)
    try:
        return await reconcile_queue_log(engine, log, start, end)
    finally:
        await engine.dispose()


def summary(report: dict[str, Any]) -> str:
    """The report for a person: the counts, then each difference on a line."""
    lines = [
        f"{report['from']} .. {report['to']}: queue_log {report['asterisk_entries']} entries, "
        f"Hotline {report['hotline_entries']}, matched {report['matched']}",
        f"missing in Hotline: {len(report['missing_in_hotline'])}",
        f"unknown to Asterisk: {len(report['unknown_to_asterisk'])}",
        f"waits more than 1 s apart: {len(report['wait_differences'])}",
        f"outcomes that differ: {len(report['outcome_differences'])}",
    ]
    for row in report["missing_in_hotline"]:
        lines.append(f"  missing: {json.dumps(row, ensure_ascii=False)}")
    for row in report["unknown_to_asterisk"]:
        lines.append(f"  unknown: {json.dumps(row, ensure_ascii=False)}")
    for row in report["wait_differences"] + report["outcome_differences"]:
        lines.append(f"  differs: {json.dumps(row, ensure_ascii=False)}")
    return "\n".join(lines)
