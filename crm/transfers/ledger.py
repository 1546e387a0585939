"""The recorder's side of transfers: the transfer records and the CRM's copy of the call
context, in SQL only. What they need from Redis is read before the transaction opens
(`TransferLedger.read`); the live context and the screen pops are `screenpops`'."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from redis.asyncio import Redis
from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from core.context.model import CallContext, is_missing
from core.context.store import EventCount
from core.facts import CallFact, CallTicketed, CallTransferred
from core.keys import RedisKeys
from core.settings import TransferSettings
from crm.models import Call, CallOutcome, Transfer, utcnow
from crm.models import CallContext as ContextCopy
from crm.transfers.counting import TransferCounter, record_key

log = logging.getLogger(__name__)

__all__ = [
    "TransferLedger",
    "call_id_of",
    "copy_context",
    "prefetch_contexts",
    "record_key",
    "write_transfer",
]

CONTEXTS = "ledger.call_contexts"  # session.info: linkedid -> its CallContext, None: none
READ = "ledger.redis_read"  # session.info: the batch's `RedisRead`


@dataclass
class RedisRead:
    """What a batch's facts need from Redis, asked before its transaction."""

    counted: dict[str, EventCount] = field(default_factory=dict)  # record_key -> its count
    contexts: dict[str, CallContext | None] = field(default_factory=dict)  # by linkedid

    def context(self, linkedid: str) -> CallContext:
        return self.contexts.get(linkedid) or CallContext()

    def attach(self, session: AsyncSession) -> None:
        """Hand it to the transaction the ledger's handlers run in."""
        session.info[READ] = self


async def prefetch_contexts(session: AsyncSession, linkedids: list[str]) -> None:
    """Load the CRM copies of these calls' contexts in one statement per 500, and remember
    which have none, so that `copy_context` looks up nothing for them in this session."""
    known: dict[str, ContextCopy | None] = session.info.setdefault(CONTEXTS, {})
    for start in range(0, len(linkedids), 500):
        chunk = linkedids[start : start + 500]
        known.update(dict.fromkeys(chunk))
        rows = await session.scalars(select(ContextCopy).where(ContextCopy.linkedid.in_(chunk)))
        known.update((row.linkedid, row) for row in rows)


def _insert(session: AsyncSession, table: Any) -> Any:
    """An INSERT that can say ON CONFLICT, in the session's SQL dialect."""
    dialect = session.get_bind().dialect.name
    return (postgresql_insert if dialect == "postgresql" else sqlite_insert)(table)


async def copy_context(session: AsyncSession, linkedid: str, ctx: CallContext) -> None:
    """Write the CRM's copy of the context (called on every change). The API and the
    recorder both write it, each in its own transaction: the row is made with ON CONFLICT
    DO NOTHING, so whichever comes second updates the first one's row."""
    known: dict[str, ContextCopy | None] = session.info.setdefault(CONTEXTS, {})
    if linkedid in known:
        row = known[linkedid]
        if row is None:
            # Looked up in this transaction and not there (`prefetch_contexts`, a recorder's
            # batch): made by its flush, beside the batch's other new rows, where the path
            # below takes three statements. Another writer making it meanwhile is the
            # batch's IntegrityError: the recorder then applies it fact by fact, below.
            row = ContextCopy(linkedid=linkedid, transfer_count=0, transfers_refused=0)
            session.add(row)
    else:
        row = await session.get(ContextCopy, linkedid)
    if row is None:
        await session.execute(
            _insert(session, ContextCopy)
            .values(linkedid=linkedid, transfer_count=0, transfers_refused=0, updated_at=utcnow())
            .on_conflict_do_nothing(index_elements=["linkedid"])
        )
        row = await session.get(ContextCopy, linkedid, populate_existing=True)
        assert row is not None
    known[linkedid] = row
    ctx.copy_onto(row)
    row.updated_at = utcnow()


async def call_id_of(session: AsyncSession, linkedid: str) -> int:
    """The id of the call's row, made if it is new (ON CONFLICT: the recorder may be
    making it at the same moment), and locked for the transaction. The recorder locks its
    calls first too: taking the transfer's key before the call's lock would let the two
    wait for each other (a deadlock: PostgreSQL aborts one, the API answered 500)."""
    await session.execute(
        _insert(session, Call)
        .values(linkedid=linkedid, outcome=CallOutcome.in_progress.value, transfer_count=0)
        .on_conflict_do_nothing(index_elements=["linkedid"])
    )
    return (
        await session.execute(select(Call.id).where(Call.linkedid == linkedid).with_for_update())
    ).scalar_one()


async def write_transfer(
    session: AsyncSession, call_id: int, n: int, values: dict[str, Any], *, by_recorder: bool
) -> None:
    """The transfer `n` of a call: one row whoever writes it first. The API writes its
    record once Asterisk accepted the action (`made`, at the API's clock); the recorder
    once Asterisk reported it (`completed`, at the event's moment), and its outcome and
    moment win over the API's whichever order they come in; the API's, coming second,
    changes nothing."""
    insert = _insert(session, Transfer).values(call_id=call_id, n=n, **values)
    if by_recorder:
        statement = insert.on_conflict_do_update(
            index_elements=["call_id", "n"],
            set_={"outcome": insert.excluded.outcome, "at": insert.excluded.at},
        )
    else:
        statement = insert.on_conflict_do_nothing(index_elements=["call_id", "n"])
    await session.execute(statement)
    # Never lowered: the call's count is its highest transfer.
    await session.execute(
        update(Call)
        .where(Call.id == call_id, Call.transfer_count < n)
        .values(transfer_count=n)
        .execution_options(synchronize_session=False)
    )


class TransferLedger:
    """Called by the recorder: `read` before each transaction (its result attached to
    the session), the `on_*` handlers inside it."""

    def __init__(self, counter: TransferCounter) -> None:
        self.counter = counter

    @classmethod
    def build(
        cls, redis: Redis, keys: RedisKeys, settings: TransferSettings | None = None
    ) -> TransferLedger:
        return cls(TransferCounter.build(redis, keys, settings))

    async def read(self, facts: Sequence[CallFact]) -> RedisRead:
        """Count the facts' transfers (the counter answers a fact it counted already
        with the same n), then read the contexts their copies are made of."""
        read = RedisRead()
        for fact in facts:
            if isinstance(fact, CallTransferred):
                read.counted[record_key(fact)] = await self.counter.count(fact)
        linkedids = sorted(
            {f.linkedid for f in facts if isinstance(f, CallTicketed | CallTransferred)}
        )
        read.contexts = await self.counter.store.get_many(linkedids)
        return read

    async def on_ticketed(self, session: AsyncSession, fact: CallTicketed) -> None:
        """The copy learns the call's UIN and ticket (the screen pops write them to Redis
        on their own schedule: the fact says them here)."""
        read: RedisRead = session.info[READ]
        known = read.contexts.get(fact.linkedid)
        if known is None and not (fact.uin or fact.ticket_id):
            return  # nothing known of this call's context yet
        ctx = (known or CallContext()).with_known(uin=fact.uin, ticket_id=str(fact.ticket_id or ""))
        await copy_context(session, fact.linkedid, ctx)

    async def on_transferred(self, session: AsyncSession, call: Call, fact: CallTransferred) -> int:
        """Write the transfer's record (a reservation it matched was the API's or the AGI
        route's), copy the context; returns its n, 0 for a phone transfer's try the AGI
        route refused at the limit (no record: the caller stayed)."""
        read: RedisRead = session.info[READ]
        counted = read.counted[record_key(fact)]
        ctx = read.context(fact.linkedid)
        if not ctx.uin:
            # Redis learns the UIN from the screen pops' reading of `ticketed`, which may
            # not have got there yet: the call's own record says it too.
            ctx = ctx.with_known(uin=call.announced_uin or "")
        res, n = counted.reservation, counted.n
        if n == 0:
            # A phone transfer the route refused at the limit: no transfer, but the CRM's
            # copy of the context learns of the refused try.
            await copy_context(session, fact.linkedid, read.context(fact.linkedid))
            return 0
        context = dict(res.context) if res is not None else ctx.memo()
        await write_transfer(
            session,
            call.id,
            n,
            {
                "from_agent": (res.agent if res else fact.from_agent) or None,
                "to": res.to if res else fact.to,
                "mode": res.mode if res else ("attended" if fact.how == "attended" else "blind"),
                "how": res.how if res else fact.how,
                "outcome": "completed",
                "context": context,
                "context_missing": is_missing(context),
                "at": fact.at,
            },
            by_recorder=True,
        )
        call.transfer_count = max(call.transfer_count or 0, n)
        # The agent the caller went to has them now (a queue's target: its answer says who).
        call.reached(self.counter.target_of(fact, counted))
        await copy_context(session, fact.linkedid, ctx)
        return n
