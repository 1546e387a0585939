"""Two Hotline installs on one Redis server and database (`HOTLINE_REDIS_PREFIX` apart):
each `hotline run` against its own simulated Asterisk. A call in one reaches nothing of
the other: not its agent desk (screen pops carry the caller's name), not its wallboard
(live changes), not its fact stream; and every key and channel either touched is under
its own prefix."""

from __future__ import annotations

import asyncio
import json
import secrets
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from redis.asyncio import Redis

from asterisksim import SimulatedAsterisk
from core.bus import FactBus
from core.keys import RedisKeys
from core.settings import (
    RedisSettings,
)
from tests.conftest import REDIS_TEST_URL, auth
from tests.deploy.running import hotline_run, until
from tests.support import RedisMonitor

pytestmark = pytest.mark.redis
SHARED_DB = 5  # one Redis database for both installs: pub/sub ignores it anyway
SHARED_REDIS_URL = REDIS_TEST_URL.rsplit("/", 1)[0] + f"/{SHARED_DB}"


@dataclass
class Install:
    """One `hotline run` with its simulator, and what its agent desk and wallboard got."""

    name: str
    keys: RedisKeys
    sim: SimulatedAsterisk
    api: httpx.AsyncClient
    pops: list[dict] = field(default_factory=list)
    changes: list[dict] = field(default_factory=list)

    async def listen(self, path: str, event: str, into: list[dict], ready: asyncio.Event) -> None:
        """Read one event stream of this install's API (as a desk or a wallboard does)."""
        async with self.api.stream("GET", path, headers=auth("supervisor"), timeout=None) as s:
            kind = ""
            async for line in s.aiter_lines():
                if line.startswith(":") and not ready.is_set():
                    ready.set()  # the greeting: subscribed
                elif line.startswith("event: "):
                    kind = line[len("event: ") :]
                elif line.startswith("data: ") and kind == event:
                    into.append(json.loads(line[len("data: ") :]))


@asynccontextmanager
async def running_install(name: str, prefix: str, tmp_path: Path) -> AsyncIterator[Install]:
    async with hotline_run(
        tmp_path / f"{name}.db",
        RedisSettings(url=SHARED_REDIS_URL, prefix=prefix),
        channelvars=("UIN", "TICKET_ID"),
    ) as run:
        # The same agent name in both: the channel names would meet without the prefix.
        run.sim.add_agent("agent1", "hotline", answer_delay_s=2, talk_s=20)
        yield Install(name, run.settings.redis.keys, run.sim, run.api)


async def _call(install: Install, name: str) -> str:
    """One caller of `install`, ticketed, answered by agent1 and recorded; its linkedid."""
    call = install.sim.place_call("79001234567", name, patience_s=120)
    await install.sim.run_for(60)
    assert call.truth.outcome == "answered" and call.truth.agi_status == "SUCCESS"
    linkedid = call.truth.linkedid

    async def recorded() -> bool:
        reply = await install.api.get(f"/api/calls/{linkedid}")
        return reply.status_code == 200 and reply.json().get("ended_at") is not None

    await until(recorded)
    await until(lambda: _true(len(install.pops) >= 1 and bool(_agents_named(install))))
    await asyncio.sleep(0.5)  # the last of this call's changes told
    install.changes.clear()  # from now on, what comes is not this call's
    return linkedid


async def _true(value: bool) -> bool:
    return value


def _agents_named(install: Install) -> list[str]:
    """The agents the wallboard's changes named since it was last cleared."""
    return sorted({agent for change in install.changes for agent in change["agents"]})


async def test_two_installs_on_one_redis_see_nothing_of_each_other(tmp_path: Path) -> None:
    run = secrets.token_hex(3)
    prefixes = {"a": f"a-{run}", "b": f"b-{run}"}
    redis = Redis.from_url(SHARED_REDIS_URL)
    await redis.flushdb()
    host, port = REDIS_TEST_URL.split("://", 1)[1].split("/", 1)[0].rsplit(":", 1)
    monitor = RedisMonitor(host, int(port), SHARED_DB)
    await monitor.start()
    listeners: list[asyncio.Task[None]] = []
    try:
        async with AsyncExitStack() as stack:
            a = await stack.enter_async_context(running_install("a", prefixes["a"], tmp_path))
            b = await stack.enter_async_context(running_install("b", prefixes["b"], tmp_path))
            for install in (a, b):
                ready = [asyncio.Event(), asyncio.Event()]
                listeners += [
                    asyncio.create_task(
                        install.listen(
                            "/api/agents/agent1/events", "screen-pop", install.pops, ready[0]
                        )
                    ),
                    asyncio.create_task(
                        install.listen("/api/stream/live", "change", install.changes, ready[1])
                    ),
                ]
                await asyncio.wait_for(asyncio.gather(*(r.wait() for r in ready)), 10)
            await asyncio.sleep(0.5)  # what the logins wrote has been told
            a.changes.clear()
            b.changes.clear()

            await _call(a, "Алиса")
            await asyncio.sleep(1.0)  # time for anything of a's to stray into b
            assert [p["caller_name"] for p in a.pops] == ["Алиса"]
            # b's own heartbeat rewrites its queues now and then; an agent named in a
            # change is a's call
            assert b.pops == [] and _agents_named(b) == [], "a's call reached b's desk/board"

            await _call(b, "Борис")
            await asyncio.sleep(1.0)
            assert [p["caller_name"] for p in b.pops] == ["Борис"]
            assert [p["caller_name"] for p in a.pops] == ["Алиса"], "b's pop reached a's desk"
            assert _agents_named(a) == [], "b's live changes reached a's wallboard"

            # Each fact stream holds its own call only.
            # (By the caller's name: the two simulators may give their calls the same
            # time-based Linkedid.)
            for install, own, other in ((a, "Алиса", "Борис"), (b, "Борис", "Алиса")):
                facts = await FactBus(redis, install.keys).read_all(count=10_000)
                names = {getattr(fact, "caller_name", None) for fact in facts}
                assert own in names and other not in names, install.name
                live = await install.api.get("/api/queues/live", headers=auth("supervisor"))
                (queue,) = live.json()["queues"]
                assert queue["service_level"]["today"]["answered"] == 1, install.name
            for listener in listeners:
                listener.cancel()
            await asyncio.gather(*listeners, return_exceptions=True)
    finally:
        for listener in listeners:
            listener.cancel()
        await monitor.stop()

    # Every key and channel either install used is under its own prefix: none bare.
    touched = await monitor.names(redis)
    assert touched, "the monitor saw nothing"
    roots = tuple(f"{p}:".encode() for p in prefixes.values())
    strays = sorted(name for name in touched if not name.startswith(roots))
    assert strays == [], f"names outside both prefixes: {strays[:10]}"
    for name, prefix in prefixes.items():
        assert any(n.startswith(f"{prefix}:".encode()) for n in touched), name
    # And what is left in Redis: each key of one install's, none under the other's.
    left = [key async for key in redis.scan_iter(count=1000)]
    assert left and all(key.startswith(roots) for key in left)
    await redis.flushdb()
    await redis.aclose()
