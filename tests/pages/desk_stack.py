"""The agent desk's stack for browser tests: the simulated Asterisk on the wall clock, the
tracker with the screen pops and the recorder, and a CRM of its own (API and pages) that
sends AMI actions to that simulator, served over HTTP beside the pages harness's site
(same database, same session loop).

The simulator notes when it emitted each `AgentCalled` (wall time), so a test can hold
the screen pop to "within 1 s of Asterisk's AgentCalled".
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from redis.asyncio import Redis

from asterisksim import SimConfig, SimulatedAsterisk
from asterisksim.config import AgentProfile
from core.bus import FactBus
from core.facts import CallTicketed
from core.settings import AmiSettings, AsteriskSettings, Settings, TransferSettings
from hotline.bootstrap import create_app
from hotline.bootstrap.tracker import run_tracker
from hotline.demo.stack import free_port
from hotline.serve import serving
from tests.conftest import REDIS_TEST_URL, TEST_KEYS, redis_settings
from tests.pages.conftest import LiveSite

# A Redis database of its own: its own fact stream and call contexts.
DESK_REDIS_URL = REDIS_TEST_URL.rsplit("/", 1)[0] + "/6"
# The simulator's transfer targets (`SimConfig.transfer_targets`) and its agents' interface.
SIM_TARGETS = "200=agent:agent2,201=agent:agent3,300=queue:support"
SIM_TARGETS_CONTEXT = "transfer-targets"
SIM_AGENT_CHANNEL = "Local/{agent}@agents/n"


@dataclass
class DeskStack:
    site: LiveSite  # the desk's CRM (its `add_person` makes people in the shared database)
    sim: SimulatedAsterisk
    agent_called: list[tuple[float, str, str]] = field(default_factory=list)

    def agent_called_at(self, member: str, linkedid: str) -> float | None:
        """The wall time the simulator emitted `AgentCalled` for `member` on `linkedid`."""
        for at, name, call in self.agent_called:
            if name == member and call == linkedid:
                return at
        return None

    async def ticketed(self, linkedid: str, uin: str, ticket_id: int) -> None:
        """The AGI route's `ticketed` fact: the caller heard `uin` (no AGI in this stack)."""
        redis = Redis.from_url(DESK_REDIS_URL)
        try:
            await FactBus(redis, TEST_KEYS).publish(
                CallTicketed(linkedid=linkedid, uin=uin, ticket_id=ticket_id)
            )
        finally:
            await redis.aclose()


def _watch_agent_called(sim: SimulatedAsterisk, seen: list[tuple[float, str, str]]) -> None:
    """Note the wall time of every `AgentCalled` the simulator emits."""
    emit = sim.pbx.emit

    def watched(klass: int, name: str, body: str, *args: Any, **kwargs: Any) -> None:
        if name == "AgentCalled":
            fields = dict(line.split(": ", 1) for line in body.splitlines() if ": " in line)
            seen.append((time.time(), fields.get("MemberName", ""), fields.get("Linkedid", "")))
        emit(klass, name, body, *args, **kwargs)

    sim.pbx.emit = watched  # type: ignore[method-assign]


@contextlib.asynccontextmanager
async def desk_stack(pages_settings: Settings) -> AsyncIterator[DeskStack]:
    """The stack, on the harness's database; always stopped."""
    redis = Redis.from_url(DESK_REDIS_URL)
    await redis.flushdb()
    await redis.aclose()
    config = SimConfig(
        timestampevents=True,
        channelvars=("UIN", "TICKET_ID"),
        default_agent=AgentProfile(answer_delay_s=0.5),
    )
    async with SimulatedAsterisk(config, accelerated=False) as sim:
        seen: list[tuple[float, str, str]] = []
        _watch_agent_called(sim, seen)
        settings = pages_settings.model_copy(
            update={
                "redis": redis_settings(DESK_REDIS_URL),
                "ami": AmiSettings(
                    host=sim.host,
                    port=sim.port,
                    user="hotline",
                    secret="hotline",
                    reconnect_min_s=0.05,
                    reconnect_max_s=0.5,
                    ping_interval_s=30,
                ),
                "asterisk": AsteriskSettings(agent_channel=SIM_AGENT_CHANNEL),
                "transfers": TransferSettings(targets=SIM_TARGETS, context=SIM_TARGETS_CONTEXT),
            }
        )
        stop = asyncio.Event()
        tracker = asyncio.create_task(run_tracker(settings, stop, with_recorder=True))
        try:
            app = create_app(settings)
            port = free_port()
            async with serving(app, "127.0.0.1", port):
                yield DeskStack(LiveSite(settings, app, f"http://127.0.0.1:{port}"), sim, seen)
        finally:
            stop.set()
            await asyncio.wait_for(tracker, 15)
