"""Counting a transfer Asterisk reported: once, whichever reader of the fact asks first.

The screen pops and the recorder both read the `transferred` fact; both ask the Redis
counter (`CallContextStore.on_event`) with the same arguments, and its `:seen` hash gives
the second one the first one's answer, so the transfer counts once.
"""

from __future__ import annotations

from redis.asyncio import Redis

from core.context.store import CallContextStore, EventCount
from core.facts import CallFact, CallTransferred
from core.keys import RedisKeys
from core.settings import TransferSettings, parse_targets


def record_key(fact: CallTransferred) -> str:
    """The identity of a transfer fact: the tracker's `n` restarts from 1 after the
    tracker itself restarts, so its moment and kind say which transfer it is."""
    return f"{fact.key}:{fact.how}:{fact.at.timestamp():.6f}"


def fact_key(fact: CallFact) -> str:
    """The key under which a fact is handled once (the recorder records it under it)."""
    return record_key(fact) if isinstance(fact, CallTransferred) else fact.key


class TransferCounter:
    """The call context store, and what the settings say about transfer targets."""

    def __init__(
        self, store: CallContextStore, targets: str, phone_context: str = "hotline-transfer"
    ) -> None:
        self.store = store
        self.limit = store.limit
        self.targets = parse_targets(targets)
        self.phone_context = phone_context

    @classmethod
    def build(
        cls, redis: Redis, keys: RedisKeys, settings: TransferSettings | None = None
    ) -> TransferCounter:
        settings = settings or TransferSettings.model_construct()
        store = CallContextStore(
            redis, keys, limit=settings.limit, reservation_ttl_s=settings.reservation_s
        )
        return cls(store, settings.targets, settings.phone_context)

    def target_agent(self, to: str) -> str:
        """The agent behind the extension `to`, or "" for a queue or an unknown one."""
        kind, name = self.targets.get(to, ("", ""))
        return name if kind == "agent" else ""

    async def count(self, fact: CallTransferred) -> EventCount:
        """The transfer's n (0 for a phone transfer's try refused at the limit) and the
        reservation it matched; the same answer however often it is asked."""
        phone = bool(self.phone_context) and fact.dialplan_context == self.phone_context
        if phone and self.targets and fact.to not in self.targets:
            # The dialplan sends a phone transfer to an extension that is no target back
            # to the agent before the route runs: a refused try, never a transfer.
            return EventCount(0, None)
        return await self.store.on_event(
            fact.linkedid,
            record_key(fact),
            fact.from_agent,
            fact.how,
            fact.to,
            self.target_agent(fact.to),
            phone=phone,
        )

    def target_of(self, fact: CallTransferred, counted: EventCount) -> str:
        """The agent the caller went to, when it is one."""
        res = counted.reservation
        return (res.to_agent if res else "") or self.target_agent(fact.to)
