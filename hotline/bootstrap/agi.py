"""Wires the FastAGI service: routes, the CRM client, the UIN stock, facts out, AMI."""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import httpx
from redis.asyncio import BlockingConnectionPool, Redis
from redis.exceptions import RedisError

from agi.agent_routes import AGENT_PROMPTS, AgentRoutes
from agi.calendar_feed import CalendarFeed
from agi.call_routes import SURVEY_PROMPTS, WHISPER_PROMPTS, SurveyRoute, on_agi_whisper
from agi.crm_client import CrmClient
from agi.hotline_route import PROMPTS as HOTLINE_PROMPTS
from agi.hotline_route import HotlineDeps, HotlineRoute
from agi.server import AgiServer
from agi.stock import PendingTickets, UinStock
from agi.transfer_route import TRANSFER_PROMPTS, TransferRoute
from core.ami.manager import AmiManager
from core.bus import FactBus, FactOutbox
from core.context.notifier import AgentNotifier
from core.context.store import CallContextStore
from core.settings import CalendarSettings, Settings
from ivr.catalogue import DIGIT_DIR, prompt_file
from ivr.render import missing_sounds, stale_prompts

log = logging.getLogger(__name__)
# Redis connections of the AGI server at most; a command waits up to REDIS_WAIT_S for a
# free one (a loop busy with a burst holds each a little longer than its round trip).
REDIS_CONNECTIONS = 64
REDIS_WAIT_S = 2.0
# Redis connections opened before the server listens, all of them: each one opened in a
# burst costs the loop a connect, a handshake and redis-py's version lookup (a package
# metadata read), ~1 ms of CPU; with 32 warm and 128 allowed, a burst on a loaded machine
# still opened dozens (a slow loop holds each connection longer).
REDIS_WARM = REDIS_CONNECTIONS
# After start-up the garbage collector leaves the start-up's objects alone (`gc.freeze`)
# and runs its young collections less often: a full collection over every imported module's
# objects took 0.43 s of a 500-caller burst (its p99 to the greeting with it).
GC_THRESHOLDS = (20_000, 20, 20)

ROUTES = (
    "hotline",
    "transfer",
    "whisper",
    "survey",
    "agent-login",
    "agent-logout",
    "agent-pause",
)
PLAYED = (
    *HOTLINE_PROMPTS,
    *TRANSFER_PROMPTS,
    *WHISPER_PROMPTS,
    *SURVEY_PROMPTS,
    *AGENT_PROMPTS,
)


def settle_heap() -> None:
    """Once a process's services have started: collect once, then move every object alive
    now out of the collector's way and make young collections rarer (see GC_THRESHOLDS).
    For the process's `main` (`hotline agi`, `hotline run`), not for a library caller."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


class MissingPrompts(RuntimeError):
    """A prompt the routes play is not rendered: real Asterisk would fail the whole AGI."""


def check_prompts(sounds_dir: Path, calendar: CalendarSettings | None = None) -> None:
    needed = [prompt_file(name) for name in PLAYED] + [f"{DIGIT_DIR}/{d}" for d in "0123456789"]
    missing = missing_sounds(sounds_dir, needed)
    if missing:
        raise MissingPrompts(
            f"prompts not rendered (run `hotline prompts render`): {', '.join(missing)}"
        )
    stale = stale_prompts(sounds_dir, calendar) if calendar is not None else []
    if stale:
        # Callers still hear a prompt: of the hours it was rendered for. Said loudly.
        log.warning(
            "closed-hours prompt rendered for other hours than HOTLINE_HOURS/HOTLINE_TIMEZONE "
            "(run `hotline prompts render`): %s",
            ", ".join(stale),
        )


class AgiService:
    """The FastAGI server and its background work; `start()` then `stop()`."""

    def __init__(
        self,
        settings: Settings,
        *,
        sounds_dir: Path,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        ami: AmiManager | None = None,
        crm_transport: httpx.AsyncBaseTransport | None = None,
        redis_factory: Callable[[], Redis] | None = None,
    ) -> None:
        self.settings = settings
        self.sounds_dir = sounds_dir
        self.clock = clock
        self.ami = ami
        self._crm_transport = crm_transport
        self._redis_factory = redis_factory
        self._tasks: set[asyncio.Task[None]] = set()
        self._stop = asyncio.Event()

    async def start(self) -> None:
        check_prompts(self.sounds_dir, self.settings.calendar)
        settings = self.settings
        self.redis = (
            self._redis_factory()
            if self._redis_factory is not None
            else Redis(
                connection_pool=BlockingConnectionPool.from_url(
                    settings.redis.url,
                    # A burst of callers shares a few connections: one per concurrent
                    # command would open hundreds at once, each costing a connect and a
                    # handshake on the loop that also answers the callers.
                    max_connections=REDIS_CONNECTIONS,
                    timeout=REDIS_WAIT_S,
                    # Named, so `CLIENT LIST` tells this install's AGI connections apart.
                    client_name=f"{settings.redis.keys.root}agi",
                    socket_timeout=0.5,
                    socket_connect_timeout=0.5,
                )
            )
        )
        self.crm = CrmClient(settings.crm, transport=self._crm_transport)
        keys = settings.redis.keys
        self.stock = UinStock(self.redis, keys, self.crm)
        self.pending = PendingTickets(self.redis, keys, self.crm)
        self.outbox = FactOutbox(FactBus(self.redis, keys))
        self.calendar = CalendarFeed(self.crm, settings.calendar, settings.agi.calendar_refresh_s)
        # Before the first caller, on the caller-facing deadline: a CRM that is down only
        # leaves the settings' calendar until the next refresh.
        await self.calendar.refresh(background=False)
        self.hotline = HotlineRoute(
            HotlineDeps(
                crm=self.crm,
                stock=self.stock,
                pending=self.pending,
                publish=self.outbox.put,
                calendar=self.calendar.current,
                clock=self.clock,
                uin_digits=settings.tickets.uin_digits,
            )
        )
        self.server = AgiServer(settings.agi)
        self.server.add_route("hotline", self.hotline)
        transfers = settings.transfers
        self.transfer = TransferRoute(
            CallContextStore(
                self.redis, keys, limit=transfers.limit, reservation_ttl_s=transfers.reservation_s
            ),
            AgentNotifier(self.redis, keys),
            transfers,
        )
        self.server.add_route("transfer", self.transfer)
        self.server.add_route("whisper", on_agi_whisper)
        self.server.add_route("survey", SurveyRoute(self.outbox.put))
        if self.ami is None:
            # It only sends actions (agent features): no event is read, so none is asked for.
            self.ami = AmiManager(settings.ami, event_mask="off")
            self.ami.connect()
        agents = AgentRoutes(self.ami.send_action)
        self.server.add_route("agent-login", agents.login)
        self.server.add_route("agent-logout", agents.logout)
        self.server.add_route("agent-pause", agents.pause)
        for loop in (
            self.stock.run(self._stop),
            self.pending.run(self._stop),
            self.outbox.run(self._stop),
            self.calendar.run(self._stop),
        ):
            task = asyncio.create_task(loop)
            task.add_done_callback(self._task_done)
            self._tasks.add(task)
        await self._warm_up()
        await self.server.start()

    async def _warm_up(self) -> None:
        """Open the Redis connections a burst will use before the first caller (the stock's
        first refill and the calendar have opened the CRM's already)."""
        try:
            await asyncio.gather(*(self.redis.ping() for _ in range(REDIS_WARM)))
        except (RedisError, OSError) as exc:  # Redis down: callers are served without it
            log.warning("Redis connections not opened before the first caller: %s", exc)

    def _task_done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("AGI background task failed", exc_info=task.exception())

    @property
    def port(self) -> int:
        return self.server.port

    async def stop(self) -> None:
        await self.server.close(grace_s=2.0)
        self._stop.set()
        if self._tasks:
            _, pending = await asyncio.wait(list(self._tasks), timeout=5)
            # A loop still busy (an owed-ticket round on a slow CRM) is cancelled: left
            # running, it would go on paying tickets after its service stopped, racing
            # the next service on the same Redis (the tests' 404 for an owed ticket).
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        if self.ami is not None:
            await self.ami.aclose()
        await self.crm.aclose()
        await self.redis.aclose()
