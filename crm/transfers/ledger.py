"""The recorder's side of transfers: counting Asterisk's transfers once, the transfer
records, the CRM's copy of the call context, and screen pops when a target rings."""

from __future__ import annotations

import logging

from redis.asyncio import Redis
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.context.model import CallContext, is_missing
from core.context.notifier import AgentNotifier
from core.context.store import CallContextStore
from core.facts import CallAnswered, CallRinging, CallTicketed, CallTransferred
from core.settings import TransferSettings, parse_targets
from crm.models import Call, Transfer, utcnow
from crm.models import CallContext as ContextCopy

log = logging.getLogger(__name__)


def record_key(fact: CallTransferred) -> str:
    """The identity of a transfer fact: the tracker's `n` restarts from 1 after the
    tracker itself restarts, so its moment and kind say which transfer it is."""
    return f"{fact.key}:{fact.how}:{fact.at.timestamp():.6f}"


CONTEXTS = "ledger.call_contexts"  # session.info: linkedid -> its CallContext, None: none


async def prefetch_contexts(session: AsyncSession, linkedids: list[str]) -> None:
    """Load the CRM copies of these calls' contexts in one statement per 500, and remember
    which have none, so that `copy_context` looks up nothing for them in this session."""
    known: dict[str, ContextCopy | None] = session.info.setdefault(CONTEXTS, {})
    for start in range(0, len(linkedids), 500):
        chunk = linkedids[start : start + 500]
        known.update(dict.fromkeys(chunk))
        rows = await session.scalars(select(ContextCopy).where(ContextCopy.linkedid.in_(chunk)))
        known.update((row.linkedid, row) for row in rows)


async def copy_context(session: AsyncSession, linkedid: str, ctx: CallContext) -> None:
    """Write the CRM's copy of the context (called on every change)."""
    known: dict[str, ContextCopy | None] = session.info.setdefault(CONTEXTS, {})
    row = known[linkedid] if linkedid in known else await session.get(ContextCopy, linkedid)
    if row is None:
        row = ContextCopy(linkedid=linkedid, transfer_count=0, transfers_refused=0)
        session.add(row)
    known[linkedid] = row
    ctx.copy_onto(row)
    row.updated_at = utcnow()


class TransferLedger:
    """Called by the recorder inside each fact's transaction."""

    def __init__(
        self,
        store: CallContextStore,
        notifier: AgentNotifier,
        limit: int,
        targets: str,
        phone_context: str = "hotline-transfer",
    ):
        self.store = store
        self.notifier = notifier
        self.limit = limit
        self.targets = parse_targets(targets)
        self.phone_context = phone_context

    @classmethod
    def build(cls, redis: Redis, settings: TransferSettings | None = None) -> TransferLedger:
        settings = settings or TransferSettings.model_construct()
        store = CallContextStore(
            redis, limit=settings.limit, reservation_ttl_s=settings.reservation_s
        )
        return cls(
            store, AgentNotifier(redis), settings.limit, settings.targets, settings.phone_context
        )

    def target_agent(self, to: str) -> str:
        kind, name = self.targets.get(to, ("", ""))
        return name if kind == "agent" else ""

    async def on_ticketed(self, session: AsyncSession, fact: CallTicketed) -> None:
        await self.store.update(fact.linkedid, uin=fact.uin, ticket_id=str(fact.ticket_id or ""))
        ctx = await self.store.get(fact.linkedid)
        if ctx is not None:
            await copy_context(session, fact.linkedid, ctx)

    async def on_answered(self, fact: CallAnswered) -> None:
        await self.store.update(fact.linkedid, agent=fact.agent)

    async def on_ringing(self, fact: CallRinging) -> None:
        """AgentCalled: the ringing agent sees the ticket and what earlier agents filed."""
        ctx = await self.store.get(fact.linkedid)
        if ctx is not None:
            await self.notifier.screen_pop(
                fact.agent, ctx.screen_pop(fact.linkedid, self.limit, queue=fact.queue)
            )

    async def on_transferred(self, session: AsyncSession, call: Call, fact: CallTransferred) -> int:
        """Count the transfer once (a reservation it matches was the API's or the AGI
        route's), write its record, copy the context; returns its n, 0 for a phone
        transfer's try the AGI route refused at the limit (no record: the caller stayed)."""
        counted = await self.store.on_event(
            fact.linkedid,
            record_key(fact),
            fact.from_agent,
            fact.how,
            fact.to,
            self.target_agent(fact.to),
            phone=bool(self.phone_context) and fact.dialplan_context == self.phone_context,
        )
        res, n = counted.reservation, counted.n
        if n == 0:
            # A phone transfer the route refused at the limit: no transfer, but the CRM's
            # copy of the context learns of the refused try.
            ctx = await self.store.get(fact.linkedid) or CallContext()
            await copy_context(session, fact.linkedid, ctx)
            return 0
        ctx = await self.store.get(fact.linkedid) or CallContext()
        row = (
            await session.execute(
                select(Transfer).where(Transfer.call_id == call.id, Transfer.n == n)
            )
        ).scalar_one_or_none()
        if row is None:
            context = dict(res.context) if res is not None else ctx.memo()
            row = Transfer(
                call_id=call.id,
                n=n,
                from_agent=(res.agent if res else fact.from_agent) or None,
                to=res.to if res else fact.to,
                mode=res.mode if res else ("attended" if fact.how == "attended" else "blind"),
                how=res.how if res else fact.how,
                outcome="completed",
                context=context,
                context_missing=is_missing(context),
                at=fact.at,
            )
            session.add(row)
        else:
            row.outcome = "completed"
        call.transfer_count = max(call.transfer_count or 0, n)
        await copy_context(session, fact.linkedid, ctx)
        agent = (res.to_agent if res else "") or self.target_agent(fact.to)
        if agent and fact.how != "attended":  # an attended target rang before, at the Atxfer
            await self.store.update(fact.linkedid, agent=agent)
            await self.notifier.screen_pop(
                agent,
                ctx.screen_pop(fact.linkedid, self.limit, n=n, from_agent=row.from_agent or ""),
            )
        elif agent:
            await self.store.update(fact.linkedid, agent=agent)
        return n
