"""The screen pop names the caller as Asterisk does: the later known number and name of
the call's `started` facts, never `<unknown>`."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from redis.asyncio import Redis

from core.facts import CallRinging, CallStarted, CallTicketed
from crm.transfers.screenpops import ScreenPops
from tests.conftest import TEST_KEYS

LINKEDID = "1795310000.77"
AT = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
HANDSET = "Local/100@hotline-in-00000000;1"


def _started(num: str, name: str) -> CallStarted:
    return CallStarted(linkedid=LINKEDID, channel=HANDSET, caller_num=num, caller_name=name, at=AT)


async def test_the_ringing_agent_sees_the_callers_number_told_after_unknown(redis: Redis) -> None:
    pops = ScreenPops.build(redis, TEST_KEYS)
    pubsub = redis.pubsub()
    await pubsub.subscribe(TEST_KEYS.agent_events("agent1"))
    await pubsub.get_message(timeout=1)  # the subscription's confirmation
    try:
        await pops.handle([_started("", ""), _started("79000000001", "Алиса")])
        # An older tracker's `<unknown>` (its own key: new to the reader) erases nothing.
        await pops.handle([_started("<unknown>", "<unknown>")])
        await pops.handle(
            [
                CallTicketed(linkedid=LINKEDID, uin="00004242", ticket_id=42),
                CallRinging(linkedid=LINKEDID, queue="hotline", agent="agent1", at=AT),
            ]
        )
        message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1)
    finally:
        await pubsub.aclose()
    assert message is not None, "no screen pop"
    pop = json.loads(message["data"])
    assert (pop["caller_num"], pop["caller_name"], pop["uin"]) == (
        "79000000001",
        "Алиса",
        "00004242",
    )
    ctx = await pops.store.get(LINKEDID)
    assert ctx is not None and (ctx.caller_num, ctx.caller_name) == ("79000000001", "Алиса")
