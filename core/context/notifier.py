"""The one place that publishes agents' events (screen pops) on Redis pub/sub."""

from __future__ import annotations

import json
from typing import Any

from redis.asyncio import Redis

from core.keys import RedisKeys

# How long the last screen pop is kept for a desk opened after it (a long call's length).
LAST_POP_TTL_S = 4 * 3600


class AgentNotifier:
    """Publishes to `<prefix>:agent-events:<agent>`; the SSE route relays them. The last
    pop of each agent is kept too (`agent_last_pop`), for a desk opened after it."""

    def __init__(self, redis: Redis, keys: RedisKeys) -> None:
        self._redis = redis
        self._keys = keys

    async def screen_pop(self, agent: str, pop: dict[str, Any]) -> int:
        """Send a screen pop to `agent`; returns how many listeners got it."""
        message = json.dumps({"event": "screen-pop", **pop}, ensure_ascii=False)
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.set(self._keys.agent_last_pop(agent), message, ex=LAST_POP_TTL_S)
            pipe.publish(self._keys.agent_events(agent), message)
            _kept, listeners = await pipe.execute()
        return int(listeners)

    async def last_pop(self, agent: str) -> dict[str, Any] | None:
        """The last screen pop sent to `agent` within `LAST_POP_TTL_S`, or None."""
        message = await self._redis.get(self._keys.agent_last_pop(agent))
        return None if message is None else dict(json.loads(message))
