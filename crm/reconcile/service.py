"""Hotline's queue entries held against queue_log's: what one side has and the other
lacks, and waits that differ by more than a second.

queue_log names a caller by the `Uniqueid` of its channel in `Queue()`, which Hotline does
not keep; the two are matched by queue, moment and caller: a Hotline entry joined within
`MATCH_S` of the `ENTERQUEUE` second (queue_log's time is whole seconds, truncated), the
same caller number first, then the nearest. Each entry is matched once.
"""

from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from crm.models import Call, QueueEntry
from crm.reconcile.queue_log import AsteriskEntry, QueueLog

MATCH_S = 2.0
WAIT_TOLERANCE_S = 1.0


@dataclass
class HotlineEntry:
    linkedid: str
    entry: int
    queue: str
    joined_at: datetime
    caller: str
    outcome: str
    wait_s: float | None
    wait_whole_s: int | None
    agent: str | None


async def load_hotline(engine: AsyncEngine, start: datetime, end: datetime) -> list[HotlineEntry]:
    query = (
        select(
            Call.linkedid,
            QueueEntry.entry,
            QueueEntry.queue,
            QueueEntry.joined_at,
            Call.caller_number,
            QueueEntry.outcome,
            QueueEntry.wait_s,
            QueueEntry.wait_whole_s,
            QueueEntry.agent,
        )
        .join(Call, Call.id == QueueEntry.call_id)
        .where(QueueEntry.joined_at >= start, QueueEntry.joined_at < end)
        .order_by(QueueEntry.joined_at)
    )
    async with engine.connect() as conn:
        rows = (await conn.execute(query)).all()
    return [
        HotlineEntry(r[0], r[1], r[2], r[3], r[4] or "", str(r[5]), r[6], r[7], r[8]) for r in rows
    ]


def _digits(number: str) -> str:
    return "".join(ch for ch in number if ch.isdigit())


def _same_caller(a: str, b: str) -> bool:
    a, b = _digits(a), _digits(b)
    return bool(a and b) and (a.endswith(b[-10:]) or b.endswith(a[-10:]))


def _asterisk_row(entry: AsteriskEntry) -> dict[str, Any]:
    return {
        "callid": entry.callid,
        "queue": entry.queue,
        "entered_at": entry.entered_at.isoformat(),
        "caller": entry.caller,
        "outcome": entry.outcome,
        "agent": entry.agent,
        "wait_s": entry.wait_s,
    }


def _hotline_row(entry: HotlineEntry) -> dict[str, Any]:
    return {
        "linkedid": entry.linkedid,
        "entry": entry.entry,
        "queue": entry.queue,
        "joined_at": entry.joined_at.isoformat(),
        "caller": entry.caller,
        "outcome": entry.outcome,
        "agent": entry.agent,
        "wait_s": entry.wait_s,
        "wait_whole_s": entry.wait_whole_s,
    }


def _asterisk_outcome(entry: AsteriskEntry) -> str:
    if entry.outcome in ("answered", "waiting"):
        return entry.outcome
    return "abandoned"  # a caller who left unanswered, however (Hotline counts them so)


def reconcile(
    log: QueueLog, hotline: list[HotlineEntry], start: datetime, end: datetime
) -> dict[str, Any]:
    """The report (JSON-ready): `missing_in_hotline`, `unknown_to_asterisk`,
    `wait_differences`, `outcome_differences`, and counts."""
    asterisk = [e for e in log.entries if start <= e.entered_at < end]
    by_queue: dict[str, list[HotlineEntry]] = {}
    for entry in sorted(hotline, key=lambda e: e.joined_at):
        by_queue.setdefault(entry.queue, []).append(entry)
    used: set[int] = set()
    matches: list[tuple[AsteriskEntry, HotlineEntry]] = []
    missing: list[AsteriskEntry] = []
    for entry in sorted(asterisk, key=lambda e: e.entered_at):
        candidates = by_queue.get(entry.queue, [])
        times = [c.joined_at for c in candidates]
        lo = bisect_left(times, entry.entered_at - timedelta(seconds=MATCH_S))
        best: tuple[bool, float, int] | None = None
        for i in range(lo, len(candidates)):
            candidate = candidates[i]
            gap = (candidate.joined_at - entry.entered_at).total_seconds()
            if gap > MATCH_S + 1:
                break
            if id(candidate) in used or gap < -MATCH_S:
                continue
            # queue_log's second is the truncated one: the true moment is within it.
            distance = abs(gap - 0.5)
            score = (not _same_caller(entry.caller, candidate.caller), distance, i)
            if best is None or score < best:
                best = score
        if best is None:
            missing.append(entry)
            continue
        chosen = candidates[best[2]]
        used.add(id(chosen))
        matches.append((entry, chosen))
    unknown = [e for e in hotline if id(e) not in used and start <= e.joined_at < end]
    waits = []
    outcomes = []
    for ast, ours in matches:
        if _asterisk_outcome(ast) != ours.outcome:
            outcomes.append({"asterisk": _asterisk_row(ast), "hotline": _hotline_row(ours)})
            continue
        if ast.wait_s is None or ours.wait_s is None:
            continue
        if abs(ast.wait_s - ours.wait_s) > WAIT_TOLERANCE_S:
            waits.append(
                {
                    "asterisk": _asterisk_row(ast),
                    "hotline": _hotline_row(ours),
                    "difference_s": round(ours.wait_s - ast.wait_s, 3),
                }
            )
    return {
        "from": start.isoformat(),
        "to": end.isoformat(),
        "asterisk_entries": len(asterisk),
        "hotline_entries": sum(1 for e in hotline if start <= e.joined_at < end),
        "matched": len(matches),
        "missing_in_hotline": [_asterisk_row(e) for e in missing],
        "unknown_to_asterisk": [_hotline_row(e) for e in unknown],
        "wait_differences": waits,
        "outcome_differences": outcomes,
        "unreadable_lines": log.bad_lines,
        "ok": not (missing or unknown or waits or outcomes),
    }


async def reconcile_queue_log(
    engine: AsyncEngine, log: QueueLog, start: datetime, end: datetime
) -> dict[str, Any]:
    """`reconcile` against the entries Hotline recorded around [start, end)."""
    margin = timedelta(seconds=MATCH_S + 1)
    hotline = await load_hotline(engine, start - margin, end + margin)
    return reconcile(log, hotline, start, end)
