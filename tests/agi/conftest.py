"""Fixtures: the CRM app (SQLite and PostgreSQL), the AGI service, the simulated Asterisk."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

import httpx
import pytest
from asgi_lifespan import LifespanManager
from redis.asyncio import Redis

from asterisksim import SimConfig, SimulatedAsterisk
from core.ami.manager import AmiManager
from core.keys import RedisKeys
from core.settings import (
    AgiSettings,
    AmiSettings,
    CrmClientSettings,
    Settings,
)
from hotline.asgi import DetachedASGITransport
from hotline.bootstrap import create_app
from hotline.bootstrap.agi import AgiService
from ivr.catalogue import all_sound_files
from tests.conftest import REDIS_TEST_URL, ROOT, TEST_KEYS, TOKENS, redis_settings

# A Redis database of their own: these tests read the shared fact stream key.
AGI_REDIS_URL = REDIS_TEST_URL.rsplit("/", 1)[0] + "/13"

MSK = ZoneInfo("Europe/Moscow")
OPEN = datetime(2026, 11, 23, 10, 0, tzinfo=MSK)  # a Monday, 10:00
CLOSED = datetime(2026, 11, 22, 10, 0, tzinfo=MSK)  # a Sunday
SOUNDS = ROOT / "asterisk-config" / "sounds"
# The AGI server's deadline on the CRM. Generous here, so a loaded CI machine does not turn
# a CRM that answers into one that is "slow"; the slow-CRM tests delay past it on purpose.
CRM_TIMEOUT_S = 3.0


class SwitchableTransport(httpx.AsyncBaseTransport):
    """The CRM over ASGI, with a switch that makes it unreachable or slow.

    A slow CRM is slow on the server side: a request whose caller gave up still lands
    (late), as it would on a real server."""

    def __init__(self, inner: DetachedASGITransport) -> None:
        self.inner = inner
        self.down = False
        self.delay_s = 0.0
        self._late: set[asyncio.Task[httpx.Response]] = set()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self.down:
            raise httpx.ConnectError("CRM unreachable (test switch)")
        if not self.delay_s:
            return await self.inner.handle_async_request(request)
        task = asyncio.create_task(self._slowly(request, self.delay_s))
        self._late.add(task)
        task.add_done_callback(self._late.discard)
        return await asyncio.shield(task)

    async def _slowly(self, request: httpx.Request, delay_s: float) -> httpx.Response:
        await asyncio.sleep(delay_s)
        return await self.inner.handle_async_request(request)

    async def drain(self) -> None:
        """Wait until every request sent so far has reached the CRM and been served."""
        if self._late:
            await asyncio.wait(set(self._late))
        await self.inner.drain()

    async def aclose(self) -> None:
        await self.drain()
        await self.inner.aclose()


@dataclass
class Hotline:
    """Everything of one test: CRM, AGI service, simulated Asterisk, and their clocks."""

    crm: httpx.AsyncClient
    crm_transport: SwitchableTransport
    agi: AgiService
    pbx: SimulatedAsterisk
    redis: Redis
    now: list[datetime] = field(default_factory=lambda: [OPEN])
    started: bool = False

    @property
    def keys(self) -> RedisKeys:
        return self.agi.settings.redis.keys

    async def start(self) -> None:
        """Start the AGI service and send the simulator's calls to it."""
        await self.agi.start()
        self.started = True
        self.pbx.config.agi_url = f"agi://127.0.0.1:{self.agi.port}/hotline"

    async def facts(self) -> list[dict[bytes, bytes]]:
        """The facts on the stream, once the AGI's outbox has sent what it was given."""
        await self.agi.outbox.drained(5)
        return [fields for _id, fields in await self.redis.xrange(self.keys.facts)]


async def _clean(redis: Redis) -> None:
    keys = TEST_KEYS
    await redis.delete(
        keys.uin_stock, keys.uin_peak, keys.pending_tickets, keys.pending_refused, keys.facts
    )


@asynccontextmanager
async def hotline_rig(settings: Settings) -> AsyncIterator[Hotline]:
    """The CRM app and the simulated Asterisk running, the AGI service built, not started."""
    redis = Redis.from_url(AGI_REDIS_URL)
    await _clean(redis)
    app = create_app(settings)
    async with LifespanManager(app) as manager:
        transport = SwitchableTransport(DetachedASGITransport(app=manager.app))
        crm = httpx.AsyncClient(
            transport=transport,
            base_url="http://crm",
            headers={"Authorization": f"Bearer {TOKENS['agent']}"},
        )
        async with SimulatedAsterisk(
            SimConfig(
                channelvars=("UIN", "TICKET_ID"),
                prompts=frozenset(all_sound_files()),
            )
        ) as pbx:
            agi_settings = settings.model_copy(
                update={
                    "redis": redis_settings(AGI_REDIS_URL),
                    "agi": AgiSettings(
                        host="127.0.0.1", port=0, header_timeout_s=1.0, command_timeout_s=10.0
                    ),
                    "crm": CrmClientSettings(
                        url="http://crm", token=TOKENS["service"], timeout_s=CRM_TIMEOUT_S
                    ),
                    "ami": AmiSettings(
                        host=pbx.host, port=pbx.port, user="hotline", secret="hotline"
                    ),
                }
            )
            now = [OPEN]
            ami = AmiManager(agi_settings.ami, event_mask="")
            ami.connect()
            service = AgiService(
                agi_settings,
                sounds_dir=SOUNDS,
                clock=lambda: now[0],
                ami=ami,
                crm_transport=transport,
            )
            rig = Hotline(crm, transport, service, pbx, redis, now)
            try:
                yield rig
            finally:
                if rig.started:
                    await service.stop()
                else:
                    await ami.aclose()
                await crm.aclose()
    await _clean(redis)
    await redis.aclose()


@pytest.fixture
async def hotline(settings: Settings) -> AsyncIterator[Hotline]:
    async with hotline_rig(settings) as rig:
        await rig.start()
        yield rig


@pytest.fixture
async def hotline_not_started(settings: Settings) -> AsyncIterator[Hotline]:
    """The rig before `start()`: for what must hold from the AGI server's start-up."""
    async with hotline_rig(settings) as rig:
        yield rig


Placer = Callable[..., object]
