"""Screen pops: a consumer group of their own on the fact stream, with no SQL on the way.

On `started`, `ticketed` and `answered` it keeps the Redis call context (the caller's
number and name, the UIN and ticket, who has the caller); on `ringing` the ringing agent
gets a screen pop; on `transferred` the transfer is counted (once, with the recorder:
`crm.transfers.counting`) and the agent the caller went to gets one. The recorder writes
the SQL side of the same facts on its own schedule, so a slow or unreachable database
never holds up an agent's screen.
"""

from __future__ import annotations

import logging

from redis.asyncio import Redis

from core.caller_id import known
from core.consumer import FactConsumer
from core.context.model import CallContext
from core.context.notifier import AgentNotifier
from core.facts import (
    CallAnswered,
    CallFact,
    CallRinging,
    CallStarted,
    CallTicketed,
    CallTransferred,
)
from core.keys import RedisKeys
from core.settings import TransferSettings
from crm.transfers.counting import TransferCounter, fact_key

log = logging.getLogger(__name__)

GROUP = "screen-pops"
MARK = "pop:"  # in the call's `:seen` hash: this fact was handled here
HANDLED = (CallStarted, CallTicketed, CallAnswered, CallRinging, CallTransferred)


def _names_nobody(fact: CallFact) -> bool:
    """A `started` with no caller ID yet (the channel made `<unknown>`): nothing to keep."""
    return isinstance(fact, CallStarted) and not (known(fact.caller_num) or known(fact.caller_name))


def context_fields(fact: CallFact) -> dict[str, str] | None:
    """The context fields a `started`, `ticketed` or `answered` fact sets (None for the
    other kinds). On `started` the caller's number and name: a later telling with known
    values replaces them, `<unknown>` never does (empty values are skipped)."""
    if isinstance(fact, CallStarted):
        return {"caller_num": known(fact.caller_num), "caller_name": known(fact.caller_name)}
    if isinstance(fact, CallTicketed):
        return {
            "uin": fact.uin,
            "ticket_id": str(fact.ticket_id or ""),
            "caller_num": known(fact.caller_num),
            "caller_name": known(fact.caller_name),
        }
    if isinstance(fact, CallAnswered):
        return {"agent": fact.agent}
    return None


class ScreenPops:
    """Keeps the live call context and sends screen pops, fact by fact, in stream order."""

    def __init__(self, counter: TransferCounter, notifier: AgentNotifier, keys: RedisKeys) -> None:
        self.counter = counter
        self.keys = keys
        self.store = counter.store
        self.notifier = notifier

    @classmethod
    def build(
        cls, redis: Redis, keys: RedisKeys, settings: TransferSettings | None = None
    ) -> ScreenPops:
        return cls(TransferCounter.build(redis, keys, settings), AgentNotifier(redis, keys), keys)

    def consumer(self, name: str = f"{GROUP}-1") -> FactConsumer:
        """Its reader of the fact stream: a group of its own, acknowledged once handled."""
        kinds = frozenset(kind.model_fields["kind"].default for kind in HANDLED)
        return FactConsumer(
            self.store.redis, self.keys, self.handle, group=GROUP, consumer=name, kinds=kinds
        )

    async def handle(self, facts: list[CallFact]) -> None:
        """Handle a read's facts in order; one handled before (its key marked) changes
        nothing, as it changes nothing in the recorder (a restarted tracker tells again
        what it finds). Marked once all are handled: a crash re-delivers the read."""
        mine = [f for f in facts if isinstance(f, HANDLED) and not _names_nobody(f)]
        marks = [(f.linkedid, f"{MARK}{fact_key(f)}") for f in mine]
        handled: set[tuple[str, str]] = set()
        # Context fields to set, by call, gathered across the read and written in one
        # transaction before anything reads a context (a screen pop, a transfer) and at
        # the end: the same hashes as one write per fact, in a fraction of the commands.
        pending: dict[str, dict[str, str]] = {}
        for fact, mark, seen in zip(mine, marks, await self.store.marked(marks), strict=True):
            if seen or mark in handled:
                continue
            handled.add(mark)
            fields = context_fields(fact)
            if fields is not None:
                # Skipping empty values first: a later empty one never erases a known one.
                pending.setdefault(fact.linkedid, {}).update({k: v for k, v in fields.items() if v})
                continue
            await self.store.update_many(pending)
            pending.clear()
            await self.on_fact(fact)
        await self.store.update_many(pending)
        await self.store.mark(sorted(handled))

    async def on_fact(self, fact: CallFact) -> None:
        fields = context_fields(fact)
        if fields is not None:
            await self.store.update(fact.linkedid, **fields)
        elif isinstance(fact, CallRinging):
            await self.on_ringing(fact)
        elif isinstance(fact, CallTransferred):
            await self.on_transferred(fact)

    async def on_ringing(self, fact: CallRinging) -> None:
        """AgentCalled: the ringing agent sees the ticket and what earlier agents filed."""
        ctx = await self.store.get(fact.linkedid)
        if ctx is not None:
            pop = ctx.screen_pop(fact.linkedid, self.counter.limit, queue=fact.queue)
            await self.notifier.screen_pop(fact.agent, pop)

    async def on_transferred(self, fact: CallTransferred) -> None:
        """The agent the caller went to has them now, and sees the context (an attended
        target saw it already: it rang at the Atxfer)."""
        counted = await self.counter.count(fact)
        if counted.n == 0:
            return  # a phone transfer's try refused at the limit: the caller stayed
        agent = self.counter.target_of(fact, counted)
        if not agent:
            return
        ctx = await self.store.get(fact.linkedid) or CallContext()
        await self.store.update(fact.linkedid, agent=agent)
        if fact.how != "attended":
            res = counted.reservation
            from_agent = (res.agent if res else fact.from_agent) or ""
            pop = ctx.screen_pop(
                fact.linkedid, self.counter.limit, n=counted.n, from_agent=from_agent
            )
            await self.notifier.screen_pop(agent, pop)
