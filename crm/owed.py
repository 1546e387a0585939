"""The AGI server's owed tickets as the CRM sees them: how many wait, how many were set aside.

The AGI server keeps them in Redis (`agi/stock.py`); the CRM only counts them, for
`GET /api/health` and the metrics, so that a ticket nobody can create is seen by a person.
"""

from __future__ import annotations

from redis.asyncio import Redis

from core.keys import RedisKeys


async def read_owed(redis: Redis, keys: RedisKeys) -> dict[str, int]:
    """`{"owed": tickets still to create, "set_aside": tickets the CRM refused for good}`."""
    async with redis.pipeline(transaction=False) as pipe:
        pipe.hlen(keys.pending_tickets)
        pipe.hlen(keys.pending_refused)
        owed, set_aside = await pipe.execute()
    return {"owed": int(owed), "set_aside": int(set_aside)}
