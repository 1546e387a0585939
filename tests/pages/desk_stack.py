"""The agent desk's stack for browser tests: the simulated Asterisk on the wall clock, the
tracker with the screen pops and the recorder, and the CRM (API and pages) served over
HTTP, all on one event loop in a thread of their own, so a browser driven from the test's
thread meets them as it would a deployment.

The simulator tells the test when it emitted each `AgentCalled` (wall time), so a
test can hold the screen pop to "within 1 s of Asterisk's AgentCalled".
"""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from collections.abc import Awaitable, Callable
from concurrent.futures import Future
from typing import Any, TypeVar

from redis.asyncio import Redis

from asterisksim import SimConfig, SimulatedAsterisk
from asterisksim.config import AgentProfile
from core.bus import FactBus
from core.facts import CallTicketed
from core.settings import (
    AmiSettings,
    ApiSettings,
    AsteriskSettings,
    CalendarSettings,
    DatabaseSettings,
    RedisSettings,
    Settings,
    TransferSettings,
)
from crm.migrate import upgrade
from hotline.bootstrap import create_app
from hotline.bootstrap.tracker import run_tracker
from hotline.demo.stack import free_port
from hotline.serve import serving
from tests.conftest import PG_SERVER, REDIS_TEST_URL, TOKENS, _pg_admin

T = TypeVar("T")
# A Redis database of its own (pub/sub channels are the server's: one stack at a time).
DESK_REDIS_URL = REDIS_TEST_URL.rsplit("/", 1)[0] + "/6"
# The simulator's transfer targets (`SimConfig.transfer_targets`) and its agents' interface.
SIM_TARGETS = "200=agent:agent2,201=agent:agent3,300=queue:support"
SIM_TARGETS_CONTEXT = "transfer-targets"
SIM_AGENT_CHANNEL = "Local/{agent}@agents/n"


class DeskStack:
    """Start with `start()`, stop with `stop()`; `run(fn)` and `wait(coro)` reach into the
    stack's loop from the test's thread."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="desk-stack", daemon=True)
        self.database = f"hotline_desk_{uuid.uuid4().hex[:8]}"
        base = PG_SERVER.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://", 1)
        self.database_url = f"{base}/{self.database}"
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.agent_called: list[tuple[float, str, str]] = []  # (wall time, member, linkedid)
        self.sim: SimulatedAsterisk | None = None
        self.settings: Settings | None = None
        self._stop: asyncio.Event | None = None
        self._parts: list[asyncio.Task[Any]] = []
        self._serving: Any = None
        self.app: Any = None

    # -- reaching into the loop ------------------------------------------------------------
    def wait(self, coro: Awaitable[T], timeout_s: float = 30.0) -> T:
        future: Future[T] = asyncio.run_coroutine_threadsafe(coro, self.loop)  # type: ignore[arg-type]
        return future.result(timeout_s)

    def run(self, fn: Callable[[], T], timeout_s: float = 10.0) -> T:
        async def call() -> T:
            return fn()

        return self.wait(call(), timeout_s)

    # -- life --------------------------------------------------------------------------------
    def start(self) -> None:
        asyncio.run(_pg_admin(f'CREATE DATABASE "{self.database}"'))
        upgrade(self.database_url)
        self.thread.start()
        self.wait(self._start(), 60)

    async def _start(self) -> None:
        redis = Redis.from_url(DESK_REDIS_URL)
        await redis.flushdb()
        await redis.aclose()
        self.sim = SimulatedAsterisk(
            SimConfig(
                timestampevents=True,
                channelvars=("UIN", "TICKET_ID"),
                default_agent=AgentProfile(answer_delay_s=0.5),
            ),
            accelerated=False,
        )
        await self.sim.__aenter__()
        self._watch_agent_called(self.sim)
        tokens = [f"{role}:{token}" for role, token in TOKENS.items()]
        self.settings = Settings(
            db=DatabaseSettings(url=self.database_url),
            redis=RedisSettings(url=DESK_REDIS_URL),
            api=ApiSettings(tokens=",".join(tokens)),
            ami=AmiSettings(
                host=self.sim.host,
                port=self.sim.port,
                user="hotline",
                secret="hotline",
                reconnect_min_s=0.05,
                reconnect_max_s=0.5,
                ping_interval_s=30,
            ),
            asterisk=AsteriskSettings(agent_channel=SIM_AGENT_CHANNEL),
            transfers=TransferSettings(targets=SIM_TARGETS, context=SIM_TARGETS_CONTEXT),
            calendar=CalendarSettings(hours="mon-sun 00:00-24:00", holiday_calendar="none"),
        )
        self._stop = asyncio.Event()
        self._parts.append(
            asyncio.create_task(run_tracker(self.settings, self._stop, with_recorder=True))
        )
        self.app = create_app(self.settings)
        self._serving = serving(self.app, "127.0.0.1", self.port)
        await self._serving.__aenter__()

    def _watch_agent_called(self, sim: SimulatedAsterisk) -> None:
        """Note the wall time of every `AgentCalled` the simulator emits."""
        emit = sim.pbx.emit

        def watched(klass: Any, name: str, body: str, *args: Any, **kwargs: Any) -> Any:
            if name == "AgentCalled":
                fields = dict(line.split(": ", 1) for line in body.splitlines() if ": " in line)
                self.agent_called.append(
                    (time.time(), fields.get("MemberName", ""), fields.get("Linkedid", ""))
                )
            return emit(klass, name, body, *args, **kwargs)

        sim.pbx.emit = watched  # type: ignore[method-assign]

    def stop(self) -> None:
        try:
            self.wait(self._shutdown(), 60)
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(10)
            asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)'))

    async def _shutdown(self) -> None:
        if self._serving is not None:
            await self._serving.__aexit__(None, None, None)
        if self._stop is not None:
            self._stop.set()
        await asyncio.gather(*self._parts, return_exceptions=True)
        if self.sim is not None:
            await self.sim.close()

    # -- what the tests do ------------------------------------------------------------------
    async def ticketed(self, linkedid: str, uin: str, ticket_id: int) -> None:
        """The AGI route's `ticketed` fact: the caller heard `uin` (no AGI in this stack)."""
        redis = Redis.from_url(DESK_REDIS_URL)
        try:
            await FactBus(redis).publish(
                CallTicketed(linkedid=linkedid, uin=uin, ticket_id=ticket_id)
            )
        finally:
            await redis.aclose()

    async def add_person(self, login: str, password: str, role: str, **kw: str) -> None:
        await self.app.state.people.add_person(login, password, role, **kw)

    def agent_called_at(self, member: str, linkedid: str) -> float | None:
        for at, name, call in self.agent_called:
            if name == member and call == linkedid:
                return at
        return None
