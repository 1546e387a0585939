"""The one place that publishes agents' events (screen pops) on Redis pub/sub."""

from __future__ import annotations

import json
from typing import Any

from redis.asyncio import Redis

from core.keys import RedisKeys


class AgentNotifier:
    """Publishes to `<prefix>:agent-events:<agent>`; the SSE route relays them."""

    def __init__(self, redis: Redis, keys: RedisKeys) -> None:
        self._redis = redis
        self._keys = keys

    async def screen_pop(self, agent: str, pop: dict[str, Any]) -> int:
        """Send a screen pop to `agent`; returns how many listeners got it."""
        message = json.dumps({"event": "screen-pop", **pop}, ensure_ascii=False)
        return int(await self._redis.publish(self._keys.agent_events(agent), message))
