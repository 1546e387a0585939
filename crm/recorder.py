"""The recorder: a consumer group on `hotline:facts` that writes every call onto its ticket.

The facts of one read are applied in one database transaction together with their keys
in `recorded_facts`, and acknowledged on the stream (one XACK) only after that commit: a
crash between the two re-delivers them, and the keys make the second delivery change
nothing. A fact whose key is already recorded, or that came earlier in the same read, is a
duplicate. When the batch's transaction meets another recorder's write (an
`IntegrityError`: the same call or fact written at the same moment) it is rolled back and
the batch is applied again one fact per transaction, so nothing is lost or doubled.
A call whose ticket is not known yet keeps waiting for its `ticketed` fact; after
`orphan_after_s` it gets a ticket of its own (`settle_orphans`), so every call ends on a
ticket.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import get_args

from pydantic import ValidationError
from redis.asyncio import Redis
from redis.exceptions import ResponseError
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.aio import wait_any
from core.bus import FACT_STREAM
from core.facts import (
    CallAbandoned,
    CallAnswered,
    CallEnded,
    CallFact,
    CallOutOfHours,
    CallQueued,
    CallRated,
    CallRinging,
    CallStarted,
    CallTicketed,
    CallTransferred,
    load_fact,
)
from core.keys import DEAD_LETTERS
from crm.models import (
    Call,
    CallOutcome,
    QueueEntry,
    QueueEntryOutcome,
    RecordedFact,
    Ticket,
    TicketEvent,
    utcnow,
)
from crm.schemas import TicketCreate
from crm.service import TicketService
from crm.transfers.ledger import TransferLedger, prefetch_contexts, record_key
from crm.validation import normalise_phone

log = logging.getLogger(__name__)

READ_COUNT = 200  # facts per read, recorded in one transaction
SETTLE_EVERY_S = 1.0  # how often the loop looks for orphan calls (they wait 120 s anyway)


@dataclass
class RecorderStats:
    applied: int = 0
    duplicates: int = 0
    dead: int = 0
    orphans_ticketed: int = 0


class Recorder:
    """Reads facts as one consumer of a group and records them; see the module docstring."""

    def __init__(
        self,
        redis: Redis,
        sessions: async_sessionmaker[AsyncSession],
        tickets: TicketService,
        *,
        stream: str = FACT_STREAM,
        group: str = "recorder",
        consumer: str = "recorder-1",
        orphan_after_s: float = 120.0,
        clock: Callable[[], datetime] = utcnow,
        transfers: TransferLedger | None = None,
    ) -> None:
        self._redis = redis
        # Transfers are counted in the Redis call context (the one counter of every path).
        self.transfers = transfers or (TransferLedger.build(redis) if redis is not None else None)
        self._sessions = sessions
        self._tickets = tickets
        self.stream, self.group, self.consumer = stream, group, consumer
        self._orphan_after = timedelta(seconds=orphan_after_s)
        self._clock = clock
        self.stats = RecorderStats()

    async def ensure_group(self) -> None:
        try:
            await self._redis.xgroup_create(self.stream, self.group, id="0", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    async def run(
        self,
        stop: asyncio.Event,
        block_ms: int = 1000,
        *,
        linger_s: float = 0.0,
        settle_every_s: float = SETTLE_EVERY_S,
    ) -> None:
        """Record until `stop` is set: first this consumer's unacknowledged facts, then new.

        `linger_s`: after a short read, wait that long so the next read (one transaction)
        carries more facts; the recorder is not on any caller's path, so a busy process
        (the demo) trades this latency for less work per fact."""
        await self.ensure_group()
        await self.process(pending=True)
        settled = -settle_every_s
        while not stop.is_set():
            handled = await self.process(block_ms=block_ms)
            if time.monotonic() - settled >= settle_every_s:
                await self.settle_orphans()
                settled = time.monotonic()
            if linger_s and 0 < handled < READ_COUNT:
                await wait_any(stop, timeout_s=linger_s)

    async def process(
        self, *, pending: bool = False, block_ms: int | None = None, count: int = READ_COUNT
    ) -> int:
        """Read and record one batch; returns how many entries were handled."""
        reply = await self._redis.xreadgroup(
            self.group,
            self.consumer,
            {self.stream: "0" if pending else ">"},
            count=count,
            block=None if pending else block_ms,
        )
        entry_ids: list[bytes] = []
        facts: list[CallFact] = []
        for _stream, entries in reply or []:
            for entry_id, fields in entries:
                entry_ids.append(entry_id)
                fact = await self._read(entry_id, fields)
                if fact is not None:
                    facts.append(fact)
        if not entry_ids:
            return 0
        await self.apply_many(facts)
        # Only after the commit: a crash before this line re-delivers the whole read.
        await self._redis.xack(self.stream, self.group, *entry_ids)
        return len(entry_ids)

    async def _read(self, entry_id: bytes, fields: dict[bytes, bytes] | None) -> CallFact | None:
        """The fact of one stream entry, or None after moving an unreadable one aside."""
        raw = (fields or {}).get(b"fact", b"")  # a pending entry trimmed away has no fields
        try:
            return load_fact(raw)
        except ValidationError as exc:
            # A fact we cannot read must not block the ones behind it, nor vanish.
            log.error(
                "recorder: unreadable fact %s moved to %s: %s",
                entry_id,
                DEAD_LETTERS,
                exc.errors()[0]["msg"] if exc.errors() else exc,
            )
            await self._redis.xadd(DEAD_LETTERS, {"fact": raw, "from": entry_id})
            self.stats.dead += 1
            return None

    async def apply(self, fact: CallFact) -> bool:
        """Write one fact; False when its key was recorded before (nothing changes)."""
        for attempt in (1, 2):
            try:
                async with self._sessions.begin() as session:
                    key = fact_key(fact)
                    if await session.get(RecordedFact, key) is not None:
                        self.stats.duplicates += 1
                        return False
                    session.add(RecordedFact(key=key))
                    call = await self._call(session, fact.linkedid)
                    await _APPLY[type(fact)](self, session, call, fact)
                self.stats.applied += 1
                return True
            except IntegrityError:
                # Another recorder wrote the same call or key at the same moment: read again.
                if attempt == 2:
                    raise
        return False

    async def apply_many(self, facts: Sequence[CallFact]) -> int:
        """Write facts in one transaction, in order; returns how many were new.

        On an `IntegrityError` (another recorder wrote one of these calls or facts at the
        same moment) the transaction is rolled back and each fact is applied on its own.
        """
        if not facts:
            return 0
        try:
            applied, duplicates = await self._apply_batch(facts)
        except IntegrityError as exc:
            log.info("recorder: a batch of %d met another writer (%s); one by one", len(facts), exc)
            return sum([await self.apply(fact) for fact in facts])
        self.stats.applied += applied
        self.stats.duplicates += duplicates
        return applied

    async def _apply_batch(self, facts: Sequence[CallFact]) -> tuple[int, int]:
        keys = [fact_key(fact) for fact in facts]
        async with self._sessions.begin() as session:
            seen = await _recorded(session, set(keys))
            new: list[tuple[CallFact, str]] = []
            for fact, key in zip(facts, keys, strict=True):
                if key not in seen:
                    seen.add(key)
                    new.append((fact, key))
            calls = await self._calls(session, {fact.linkedid for fact, _ in new})
            await _prefetch(session, calls, [fact for fact, _ in new])
            for fact, key in new:
                session.add(RecordedFact(key=key))
                await _APPLY[type(fact)](self, session, calls[fact.linkedid], fact)
        return len(new), len(facts) - len(new)

    async def _calls(self, session: AsyncSession, linkedids: set[str]) -> dict[str, Call]:
        """The batch's calls, locked in one order (no deadlock between two recorders);
        the missing ones created, in that same order."""
        ordered = sorted(linkedids)
        calls = await self._existing_calls(session, ordered)
        missing = [linkedid for linkedid in ordered if linkedid not in calls]
        for linkedid in missing:
            calls[linkedid] = call = Call(
                linkedid=linkedid, outcome=CallOutcome.in_progress, transfer_count=0
            )
            session.add(call)
        if missing:
            await session.flush()  # their ids, for the queue entries and transfers
        return calls

    async def _existing_calls(self, session: AsyncSession, ordered: list[str]) -> dict[str, Call]:
        calls: dict[str, Call] = {}
        for chunk in _chunks(ordered):
            rows = await session.execute(
                select(Call)
                .where(Call.linkedid.in_(chunk))
                .order_by(Call.linkedid)
                .with_for_update()
            )
            calls.update((call.linkedid, call) for call in rows.scalars())
        return calls

    async def _call(self, session: AsyncSession, linkedid: str) -> Call:
        call = (
            await session.execute(select(Call).where(Call.linkedid == linkedid).with_for_update())
        ).scalar_one_or_none()
        if call is None:
            call = Call(linkedid=linkedid, outcome=CallOutcome.in_progress, transfer_count=0)
            session.add(call)
            await session.flush()
        return call

    async def _entry(self, session: AsyncSession, call: Call, entry: int, queue: str) -> QueueEntry:
        # Several facts of one batch touch the same entry: looked up once per transaction
        # (a batch loads the entries of its calls up front: `_prefetch`).
        known: dict[tuple[int, int], QueueEntry] = session.info.setdefault(ENTRIES, {})
        row = known.get((call.id, entry))
        if row is None and call.id not in session.info.get(ENTRIES_LOADED, ()):
            row = (
                await session.execute(
                    select(QueueEntry).where(
                        QueueEntry.call_id == call.id, QueueEntry.entry == entry
                    )
                )
            ).scalar_one_or_none()
        if row is None:
            row = QueueEntry(
                call_id=call.id, entry=entry, queue=queue, outcome=QueueEntryOutcome.waiting
            )
            session.add(row)
        known[(call.id, entry)] = row
        return row

    async def _started(self, session: AsyncSession, call: Call, fact: CallStarted) -> None:
        call.caller_number = call.caller_number or fact.caller_num or None
        call.caller_name = call.caller_name or fact.caller_name or None
        call.started_at = fact.at

    async def _ticketed(self, session: AsyncSession, call: Call, fact: CallTicketed) -> None:
        call.announced_uin = fact.uin
        await self._link(session, call)
        if self.transfers is not None:
            await self.transfers.on_ticketed(session, fact)

    async def _link(self, session: AsyncSession, call: Call) -> bool:
        if call.ticket_id is not None or call.announced_uin is None:
            return call.ticket_id is not None
        prefetched: dict[str, int] = session.info.get(TICKET_IDS, {})
        ticket_id = prefetched.get(call.announced_uin)
        if ticket_id is None:
            ticket_id = (
                await session.execute(select(Ticket.id).where(Ticket.uin == call.announced_uin))
            ).scalar_one_or_none()
        call.ticket_id = ticket_id
        return ticket_id is not None

    async def _queued(self, session: AsyncSession, call: Call, fact: CallQueued) -> None:
        entry = await self._entry(session, call, fact.entry, fact.queue)
        entry.queue, entry.position, entry.joined_at = fact.queue, fact.position, fact.at
        if call.queued_at is None or fact.entry == 1:
            call.queue, call.queued_at = fact.queue, fact.at

    async def _answered(self, session: AsyncSession, call: Call, fact: CallAnswered) -> None:
        entry = await self._entry(session, call, fact.entry, fact.queue)
        entry.outcome = QueueEntryOutcome.answered
        entry.answered_at, entry.wait_s, entry.agent = fact.at, fact.wait_s, fact.agent
        if call.answered_at is None:  # the call's own figures are those of its first answer
            call.answered_at, call.wait_s = fact.at, fact.wait_s
        call.agent = fact.agent
        call.outcome = CallOutcome.answered
        if self.transfers is not None:
            await self.transfers.on_answered(fact)

    async def _ringing(self, session: AsyncSession, call: Call, fact: CallRinging) -> None:
        if self.transfers is not None:
            await self.transfers.on_ringing(fact)

    async def _abandoned(self, session: AsyncSession, call: Call, fact: CallAbandoned) -> None:
        entry = await self._entry(session, call, fact.entry, fact.queue)
        entry.outcome, entry.left_at, entry.wait_s = (
            QueueEntryOutcome.abandoned,
            fact.at,
            fact.wait_s,
        )
        entry.position = entry.position or fact.original_position
        if call.answered_at is None:
            call.outcome, call.wait_s = CallOutcome.abandoned, fact.wait_s

    async def _transferred(self, session: AsyncSession, call: Call, fact: CallTransferred) -> None:
        if self.transfers is None:
            call.transfer_count = max(call.transfer_count or 0, fact.n)
            return
        await self.transfers.on_transferred(session, call, fact)

    async def _ended(self, session: AsyncSession, call: Call, fact: CallEnded) -> None:
        call.ended_at, call.talk_s, call.hung_up_by = fact.at, fact.talk_s, fact.hung_up_by
        if call.outcome is CallOutcome.in_progress:
            call.outcome = CallOutcome.unanswered

    async def _out_of_hours(self, session: AsyncSession, call: Call, fact: CallOutOfHours) -> None:
        call.caller_number = call.caller_number or fact.caller_num or None
        call.caller_name = call.caller_name or fact.caller_name or None
        call.started_at = call.started_at or fact.at
        call.outcome = CallOutcome.out_of_hours

    async def _rated(self, session: AsyncSession, call: Call, fact: CallRated) -> None:
        call.solved, call.score = fact.solved, fact.score
        if call.ticket_id is not None:
            session.add(
                TicketEvent(
                    ticket_id=call.ticket_id,
                    actor="survey",
                    action="rated",
                    field="call",
                    new_value=call.linkedid,
                    data={"solved": fact.solved, "score": fact.score},
                )
            )

    async def _ignored(self, session: AsyncSession, call: Call, fact: CallFact) -> None:
        """Facts that change nothing on the call record (ringing)."""

    async def settle_orphans(self) -> int:
        """Link calls to tickets that now exist; give a ticket to calls that waited too long."""
        cutoff = self._clock() - self._orphan_after
        async with self._sessions() as session:
            waiting = (
                await session.execute(
                    select(Call.linkedid, Call.announced_uin, Call.started_at, Call.ended_at).where(
                        Call.ticket_id.is_(None),
                        # Out of hours there is no intake (Table 4): no ticket is made for it.
                        Call.outcome != CallOutcome.out_of_hours,
                    )
                )
            ).all()
        settled = 0
        for linkedid, announced, started_at, ended_at in waiting:
            if announced is not None:
                async with self._sessions.begin() as session:
                    call = await self._call(session, linkedid)
                    settled += await self._link(session, call)
                continue
            seen = started_at or ended_at
            if seen is not None and seen > cutoff:
                continue
            async with self._sessions.begin() as session:
                call = await self._call(session, linkedid)
                if call.ticket_id is not None:
                    continue
                number = call.caller_number
            try:
                phone = normalise_phone(number, self._tickets.phone_region) if number else None
            except ValueError:
                phone = None  # an extension or "anonymous": kept in the description
            ticket = await self._tickets.register_ticket(
                TicketCreate(
                    channel="phone",
                    caller_name=call.caller_name,
                    caller_phone=phone,
                    summary="Call without a ticket from the IVR (registered by the recorder)",
                    description=f"caller number as received: {number}" if number else None,
                ),
                "recorder",
            )
            async with self._sessions.begin() as session:
                call = await self._call(session, linkedid)
                if call.ticket_id is None:
                    call.ticket_id = (
                        await session.execute(select(Ticket.id).where(Ticket.uin == ticket.uin))
                    ).scalar_one()
                    settled += 1
                    self.stats.orphans_ticketed += 1
        return settled


def fact_key(fact: CallFact) -> str:
    """The key under which a fact is recorded once."""
    return record_key(fact) if isinstance(fact, CallTransferred) else fact.key


IN_CHUNK = 500  # keys per IN (...) list: well under every backend's bound-parameter limit


def _chunks(items: Sequence[str]) -> Iterator[Sequence[str]]:
    for start in range(0, len(items), IN_CHUNK):
        yield items[start : start + IN_CHUNK]


async def _recorded(session: AsyncSession, keys: set[str]) -> set[str]:
    """Those of `keys` recorded before."""
    found: set[str] = set()
    for chunk in _chunks(sorted(keys)):
        found.update(
            await session.scalars(select(RecordedFact.key).where(RecordedFact.key.in_(chunk)))
        )
    return found


ENTRIES = "recorder.queue_entries"  # session.info: (call id, entry) -> QueueEntry
ENTRIES_LOADED = "recorder.entries_loaded"  # session.info: ids of calls with all entries known
TICKET_IDS = "recorder.ticket_ids"  # session.info: uin -> ticket id


async def _prefetch(session: AsyncSession, calls: dict[str, Call], facts: list[CallFact]) -> None:
    """Load in a few statements what a batch's facts would each look up: the queue entries
    of its calls, the tickets of its announced UINs, the CRM copies of its call contexts."""
    ids = sorted(call.id for call in calls.values())
    entries: dict[tuple[int, int], QueueEntry] = session.info.setdefault(ENTRIES, {})
    for chunk in _chunks(ids):  # type: ignore[arg-type]
        rows = await session.scalars(select(QueueEntry).where(QueueEntry.call_id.in_(chunk)))
        entries.update(((row.call_id, row.entry), row) for row in rows)
    session.info[ENTRIES_LOADED] = set(ids)
    uins = sorted({fact.uin for fact in facts if isinstance(fact, CallTicketed)})
    ticket_ids: dict[str, int] = session.info.setdefault(TICKET_IDS, {})
    for chunk in _chunks(uins):
        rows = await session.execute(select(Ticket.uin, Ticket.id).where(Ticket.uin.in_(chunk)))
        ticket_ids.update((uin, ticket_id) for uin, ticket_id in rows)
    contexts = sorted(
        {fact.linkedid for fact in facts if isinstance(fact, CallTicketed | CallTransferred)}
    )
    await prefetch_contexts(session, contexts)


_APPLY = {
    CallStarted: Recorder._started,
    CallTicketed: Recorder._ticketed,
    CallQueued: Recorder._queued,
    CallAnswered: Recorder._answered,
    CallAbandoned: Recorder._abandoned,
    CallRinging: Recorder._ringing,
    CallTransferred: Recorder._transferred,
    CallEnded: Recorder._ended,
    CallOutOfHours: Recorder._out_of_hours,
    CallRated: Recorder._rated,
}
for _fact_type in get_args(get_args(CallFact)[0]):
    _APPLY.setdefault(_fact_type, Recorder._ignored)
