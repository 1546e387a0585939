"""The call log's reads: one page of calls newest first (keyset pagination), then their
queue entries, transfers and tickets in three more queries for the page's calls only.

The cursor is the last call's (`started_at`, `id`), opaque to the client; calls whose
start was never recorded have no place in the log. Who an agent "reached" is read from
the answered queue entries in order, then the call's last agent (`agents_reached`).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import and_, exists, or_, select
from sqlalchemy.ext.asyncio import AsyncEngine

from crm.calls.schemas import (
    CallLogEntry,
    CallLogPage,
    CallTransferPublic,
    QueueEntryPublic,
    SurveyPublic,
)
from crm.models import Call, CallOutcome, CallTicket, QueueEntry, Ticket, Transfer


class BadCursor(ValueError):
    """A cursor this API did not hand out."""


@dataclass(frozen=True)
class CallFilter:
    start: datetime | None = None
    end: datetime | None = None
    queue: str | None = None
    agent: str | None = None
    outcome: CallOutcome | None = None
    phone: str | None = None
    uin: str | None = None
    transferred: bool | None = None


def encode_cursor(started_at: datetime, call_id: int) -> str:
    raw = f"{started_at.astimezone(UTC).isoformat()}|{call_id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, int]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        at, _, call_id = raw.partition("|")
        moment = datetime.fromisoformat(at)
        if moment.tzinfo is None:
            raise ValueError("naive")
        return moment, int(call_id)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise BadCursor("cursor: not one this API handed out") from None


def phone_variants(phone: str) -> list[str]:
    """A number as it may be stored: as given, digits only, and with a leading +."""
    digits = "".join(ch for ch in phone if ch.isdigit())
    return sorted({phone.strip(), digits, f"+{digits}"} - {"", "+"})


def _conditions(wanted: CallFilter) -> list[Any]:
    where: list[Any] = [Call.started_at.is_not(None)]
    if wanted.start is not None:
        where.append(Call.started_at >= wanted.start)
    if wanted.end is not None:
        where.append(Call.started_at < wanted.end)
    if wanted.queue:
        where.append(
            exists().where(QueueEntry.call_id == Call.id, QueueEntry.queue == wanted.queue)
        )
    if wanted.agent:
        where.append(
            or_(
                Call.agent == wanted.agent,
                exists().where(QueueEntry.call_id == Call.id, QueueEntry.agent == wanted.agent),
            )
        )
    if wanted.outcome is not None:
        where.append(Call.outcome == wanted.outcome)
    if wanted.phone:
        where.append(Call.caller_number.in_(phone_variants(wanted.phone)))
    if wanted.uin:
        where.append(
            or_(
                Call.announced_uin == wanted.uin,
                exists().where(
                    CallTicket.call_id == Call.id,
                    CallTicket.ticket_id == Ticket.id,
                    Ticket.uin == wanted.uin,
                ),
            )
        )
    if wanted.transferred is not None:
        where.append(Call.transfer_count > 0 if wanted.transferred else Call.transfer_count == 0)
    return where


def agents_reached(call: Call, entries: Sequence[QueueEntry]) -> list[str]:
    """Every agent the call reached, in order, each once: the answered entries', then the
    call's last agent."""
    names: list[str] = []
    for entry in entries:
        if entry.agent and entry.agent not in names:
            names.append(entry.agent)
    if call.agent and call.agent not in names:
        names.append(call.agent)
    return names


async def list_calls(
    engine: AsyncEngine, wanted: CallFilter, limit: int, cursor: str | None = None
) -> CallLogPage:
    """One page of the call log, newest first."""
    where = _conditions(wanted)
    if cursor:
        at, call_id = decode_cursor(cursor)
        where.append(or_(Call.started_at < at, and_(Call.started_at == at, Call.id < call_id)))
    query = (
        select(Call).where(*where).order_by(Call.started_at.desc(), Call.id.desc()).limit(limit + 1)
    )
    async with engine.connect() as conn:
        calls = list((await conn.execute(query)).all())
        more = len(calls) > limit
        calls = calls[:limit]
        ids = [row.id for row in calls]
        entries: dict[int, list[Any]] = {i: [] for i in ids}
        transfers: dict[int, list[Any]] = {i: [] for i in ids}
        uins: dict[int, list[str]] = {i: [] for i in ids}
        if ids:
            for row in await conn.execute(
                select(QueueEntry)
                .where(QueueEntry.call_id.in_(ids))
                .order_by(QueueEntry.call_id, QueueEntry.entry)
            ):
                entries[row.call_id].append(row)
            for row in await conn.execute(
                select(Transfer).where(Transfer.call_id.in_(ids)).order_by(Transfer.n)
            ):
                transfers[row.call_id].append(row)
            for call_id, uin in await conn.execute(
                select(CallTicket.call_id, Ticket.uin)
                .join(Ticket, Ticket.id == CallTicket.ticket_id)
                .where(CallTicket.call_id.in_(ids))
                .order_by(CallTicket.linked_at, Ticket.id)
            ):
                uins[call_id].append(uin)
    page = [_public(row, entries[row.id], transfers[row.id], uins[row.id]) for row in calls]
    last = calls[-1] if calls and more else None
    return CallLogPage(
        calls=page, next_cursor=encode_cursor(last.started_at, last.id) if last else None
    )


def _public(call: Any, entries: list[Any], transfers: list[Any], uins: list[str]) -> CallLogEntry:
    heard = [call.announced_uin] if call.announced_uin else []
    survey = (
        SurveyPublic(solved=call.solved, score=call.score)
        if call.solved is not None or call.score is not None
        else None
    )
    return CallLogEntry(
        linkedid=call.linkedid,
        started_at=call.started_at,
        answered_at=call.answered_at,
        ended_at=call.ended_at,
        caller_number=call.caller_number,
        caller_name=call.caller_name,
        uins=heard + [u for u in uins if u not in heard],
        queue=call.queue,
        queue_entries=[
            QueueEntryPublic(
                entry=e.entry,
                queue=e.queue,
                position=e.position,
                joined_at=e.joined_at,
                answered_at=e.answered_at,
                left_at=e.left_at,
                wait_s=e.wait_s,
                wait_whole_s=e.wait_whole_s,
                agent=e.agent,
                outcome=e.outcome,
            )
            for e in entries
        ],
        agents=agents_reached(call, entries),
        transfers=[
            CallTransferPublic(
                n=t.n,
                from_agent=t.from_agent,
                to=t.to,
                mode=t.mode,
                how=t.how,
                outcome=t.outcome,
                at=t.at,
            )
            for t in transfers
        ],
        transfer_count=call.transfer_count,
        outcome=call.outcome,
        wait_s=call.wait_s,
        talk_s=call.talk_s,
        hung_up_by=call.hung_up_by,
        survey=survey,
    )
