"""Fixtures: the simulated Asterisk, the tracker service, the recorder, the screen pops
and the CRM app, all on a Redis database of their own, with agent tokens that name their
agents."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager
from redis.asyncio import Redis

from asterisksim import SimConfig, SimulatedAsterisk
from asterisksim.calls import Call as SimCall
from callqueue.service import TrackerService
from core.ami.manager import AmiManager
from core.consumer import FactConsumer
from core.context.store import CallContextStore
from core.facts import CallTicketed
from core.settings import AmiSettings, ApiSettings, Settings, TransferSettings
from crm.db import make_engine, make_sessionmaker
from crm.recorder import Recorder
from crm.service import TicketService
from crm.transfers.ledger import TransferLedger
from crm.transfers.screenpops import ScreenPops
from hotline.bootstrap import create_app
from tests.conftest import REDIS_TEST_URL, TEST_KEYS, TOKENS, redis_settings

# A Redis database of their own: these tests read the fact stream and the call contexts.
TRANSFER_REDIS_URL = REDIS_TEST_URL.rsplit("/", 1)[0] + "/7"
AGENT_TOKENS = {
    "agent1": "agent1-token-0123456789abcdef",
    "agent2": "agent2-token-0123456789abcdef",
    "agent3": "agent3-token-0123456789abcdef",
}
# The simulator's own targets (`SimConfig.transfer_targets`: its agents are agent1, agent2...,
# not the rendered dialplan's agentNN); the real dialplan's are HOTLINE_TRANSFER_TARGETS.
SIM_TARGETS = ",".join(
    f"{exten}={kind}:{name}"
    for exten, (kind, name) in SimConfig().transfer_targets.items()
    if kind != "ivr"
)
SIM_TARGETS_CONTEXT = "transfer-targets"
CONTEXT = {
    "summary": "Cannot sign the VAT return",
    "caller_full_name": "Иванова Мария Петровна",
    "org_inn": "7707083893",
}


def agent_auth(agent: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {AGENT_TOKENS[agent]}"}


def supervisor_auth() -> dict[str, str]:
    return {"Authorization": f"Bearer {TOKENS['supervisor']}"}


@dataclass
class Rig:
    """One test's Hotline: simulator, tracker, recorder, screen pops, CRM over HTTP, Redis."""

    pbx: SimulatedAsterisk
    redis: Redis
    crm: httpx.AsyncClient
    settings: Settings
    recorder: Recorder
    store: CallContextStore
    ami: AmiManager
    screen_pops: ScreenPops
    screen_pop_reader: FactConsumer
    tracker: TrackerService | None = None
    _stop: asyncio.Event | None = None
    _task: asyncio.Task[None] | None = None
    now: list[datetime] = field(default_factory=lambda: [datetime(2026, 11, 23, 7, tzinfo=UTC)])

    async def start_tracker(self) -> None:
        self.tracker = TrackerService(self.settings, self.redis, clock=self.pbx.now)
        self._stop = asyncio.Event()
        self._task = asyncio.create_task(self.tracker.run(self._stop))
        await asyncio.wait_for(self.tracker.resynced.wait(), 5)

    async def stop_tracker(self) -> None:
        assert self._stop is not None and self._task is not None
        self._stop.set()
        await asyncio.wait_for(self._task, 10)
        self.tracker = None

    async def settle(self, run_s: float = 0.0) -> None:
        """Let `run_s` of simulated time pass, then let the tracker read everything, the
        screen pops handle and the recorder write every fact (a Ping answered means the
        events before it are read)."""
        if run_s:
            await self.pbx.run_for(run_s)
        if self.tracker is not None:
            await asyncio.wait_for(self.tracker.manager.send_action({"Action": "Ping"}), 5)
            await self.tracker.outbox.drained(5)
        while await self.screen_pop_reader.process(block_ms=None):
            pass
        while await self.recorder.process(block_ms=None):
            pass

    async def call(self, uin: str = "") -> SimCall:
        """A caller answered by agent1; with `uin`, the ticket the AGI route would give."""
        call = self.pbx.place_call("79000000001", "Мария")
        await self.settle(5)
        assert call.state == "bridged"
        if uin:
            ticketed = CallTicketed(linkedid=call.two.linkedid, uin=uin)
            await self.screen_pops.on_fact(ticketed)
            await self.recorder.apply(ticketed)
        return call

    async def agent_channel(self, call: SimCall) -> str:
        assert call.leg is not None
        return call.leg.one.name

    async def listen(self, agent: str) -> Any:
        pubsub = self.redis.pubsub()
        await pubsub.subscribe(TEST_KEYS.agent_events(agent))
        await pubsub.get_message(timeout=1)  # the subscription's confirmation
        return pubsub


async def next_pop(pubsub: Any, timeout_s: float = 2.0) -> dict[str, Any]:
    message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=timeout_s)
    assert message is not None, "no screen pop"
    return json.loads(message["data"])


@pytest.fixture
async def redis() -> AsyncIterator[Redis]:
    """A client of the transfer tests' Redis database, emptied before and after."""
    client = Redis.from_url(TRANSFER_REDIS_URL)
    await client.flushdb()
    yield client
    await client.flushdb()
    await client.aclose()


@pytest.fixture
def transfer_settings(settings: Settings) -> Settings:
    tokens = [f"{r}:{t}" for r, t in TOKENS.items()]
    tokens += [f"agent/{agent}:{token}" for agent, token in AGENT_TOKENS.items()]
    return settings.model_copy(
        update={
            "redis": redis_settings(TRANSFER_REDIS_URL),
            "api": ApiSettings(tokens=",".join(tokens)),
            "transfers": TransferSettings(
                reservation_s=60, targets=SIM_TARGETS, context=SIM_TARGETS_CONTEXT
            ),
        }
    )


@pytest.fixture
async def rig(transfer_settings: Settings) -> AsyncIterator[Rig]:
    redis = Redis.from_url(TRANSFER_REDIS_URL)
    await redis.flushdb()
    async with SimulatedAsterisk(
        SimConfig(timestampevents=True, channelvars=("UIN", "TICKET_ID"))
    ) as pbx:
        pbx.add_agent("agent1", "hotline", answer_delay_s=2)
        settings = transfer_settings.model_copy(
            update={
                "ami": AmiSettings(
                    host=pbx.host,
                    port=pbx.port,
                    user="hotline",
                    secret="hotline",
                    reconnect_min_s=0.02,
                    reconnect_max_s=0.05,
                    ping_interval_s=30,
                )
            }
        )
        ami = AmiManager(settings.ami, event_mask="off")
        ami.connect()
        await ami.wait_logged_in(5)
        rig_now = [datetime(2026, 11, 23, 7, tzinfo=UTC)]
        app = create_app(settings, clock=lambda: rig_now[0], ami=ami)
        engine = make_engine(settings.db.url)
        sessions = make_sessionmaker(engine)
        ledger = TransferLedger.build(redis, TEST_KEYS, settings.transfers)
        recorder = Recorder(redis, TEST_KEYS, sessions, TicketService(sessions), transfers=ledger)
        await recorder.ensure_group()
        screen_pops = ScreenPops.build(redis, TEST_KEYS, settings.transfers)
        reader = screen_pops.consumer()
        await reader.ensure_group()
        async with LifespanManager(app) as manager:
            transport = httpx.ASGITransport(app=manager.app)
            async with httpx.AsyncClient(transport=transport, base_url="http://crm") as crm:
                rig = Rig(
                    pbx,
                    redis,
                    crm,
                    settings,
                    recorder,
                    screen_pops.store,
                    ami,
                    screen_pops,
                    reader,
                    now=rig_now,
                )
                await rig.start_tracker()
                try:
                    yield rig
                finally:
                    if rig.tracker is not None:
                        await rig.stop_tracker()
        await ami.aclose()
        await engine.dispose()
    await redis.flushdb()
    await redis.aclose()
