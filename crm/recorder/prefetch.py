"""One read's rows loaded up front in a few statements, and the lookups that use them.

What the facts of a read would each look up (the queue entries of its calls, the tickets of
its announced UINs, the CRM copies of its call contexts) is loaded once per transaction and
kept in `session.info`; the lookups below read it there first, and the database only for
what was not loaded (a fact applied on its own loads nothing up front)."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from core.facts import CallFact, CallTicketed, CallTransferred
from crm.models import Call, QueueEntry, QueueEntryOutcome, Ticket
from crm.recorder.chunks import chunks
from crm.transfers.ledger import prefetch_contexts

ENTRIES = "recorder.queue_entries"  # session.info: (call id, entry) -> QueueEntry
ENTRIES_LOADED = "recorder.entries_loaded"  # session.info: ids of calls with all entries known
TICKET_IDS = "recorder.ticket_ids"  # session.info: uin -> ticket id


_INTO = aliased(Ticket)
# A UIN and the ticket its calls belong to: a withdrawn UIN's are its `withdrawn_into`'s.
_TICKET_IDS = select(Ticket.uin, func.coalesce(_INTO.id, Ticket.id)).outerjoin(
    _INTO, _INTO.uin == Ticket.withdrawn_into
)


async def prefetch(session: AsyncSession, calls: dict[str, Call], facts: list[CallFact]) -> None:
    """Load in a few statements what a batch's facts would each look up: the queue entries
    of its calls, the tickets of its announced UINs, the CRM copies of its call contexts."""
    ids = sorted(call.id for call in calls.values())
    entries: dict[tuple[int, int], QueueEntry] = session.info.setdefault(ENTRIES, {})
    for chunk in chunks(ids):
        rows = await session.scalars(select(QueueEntry).where(QueueEntry.call_id.in_(chunk)))
        entries.update(((row.call_id, row.entry), row) for row in rows)
    session.info[ENTRIES_LOADED] = set(ids)
    uins = sorted({fact.uin for fact in facts if isinstance(fact, CallTicketed)})
    ticket_ids: dict[str, int] = session.info.setdefault(TICKET_IDS, {})
    for chunk in chunks(uins):
        rows = await session.execute(_TICKET_IDS.where(Ticket.uin.in_(chunk)))
        ticket_ids.update((uin, ticket_id) for uin, ticket_id in rows)
    contexts = sorted(
        {fact.linkedid for fact in facts if isinstance(fact, CallTicketed | CallTransferred)}
    )
    await prefetch_contexts(session, contexts)


async def queue_entry(session: AsyncSession, call: Call, entry: int, queue: str) -> QueueEntry:
    """The call's `entry`-th time in a queue, created (waiting) when it is new."""
    # Several facts of one batch touch the same entry: looked up once per transaction.
    known: dict[tuple[int, int], QueueEntry] = session.info.setdefault(ENTRIES, {})
    row = known.get((call.id, entry))
    if row is None and call.id not in session.info.get(ENTRIES_LOADED, ()):
        row = (
            await session.execute(
                select(QueueEntry).where(QueueEntry.call_id == call.id, QueueEntry.entry == entry)
            )
        ).scalar_one_or_none()
    if row is None:
        row = QueueEntry(
            call_id=call.id, entry=entry, queue=queue, outcome=QueueEntryOutcome.waiting
        )
        session.add(row)
    known[(call.id, entry)] = row
    return row


async def ticket_id_of(session: AsyncSession, uin: str) -> int | None:
    """The id of the ticket with this UIN, None while there is none."""
    prefetched: dict[str, int] = session.info.get(TICKET_IDS, {})
    ticket_id = prefetched.get(uin)
    if ticket_id is None:
        row = (await session.execute(_TICKET_IDS.where(Ticket.uin == uin))).one_or_none()
        ticket_id = None if row is None else row[1]
    return ticket_id
