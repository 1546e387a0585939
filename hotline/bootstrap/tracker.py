"""`hotline tracker`: the tracker service, the screen pops and, by default, the recorder
in one process.

The recorder sits with the tracker by default because both are single, long-lived
consumers of the same Redis and one process is one thing to deploy and watch; it is a
consumer group, so `hotline tracker --no-recorder` plus recorders elsewhere (several
consumers of the group) works as well. The screen pops always run beside the tracker: a
consumer group of their own that needs Redis only, so an agent's screen pop never waits
for the recorder or its database.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime
from typing import Protocol

from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from callqueue.service import TrackerService
from core.aio import wait_any
from core.consumer import FactConsumer
from core.settings import Settings
from crm.db import make_engine, make_sessionmaker
from crm.models import utcnow
from crm.recorder import Recorder
from crm.service import TicketService
from crm.transfers.ledger import TransferLedger
from crm.transfers.screenpops import ScreenPops

log = logging.getLogger(__name__)
REDIS_TIMEOUT_S = 5.0
ORPHAN_AFTER_S = 120.0  # a call whose `ticketed` fact has not come by then gets a ticket


def build_recorder(
    settings: Settings,
    redis: Redis,
    sessions: async_sessionmaker[AsyncSession],
    *,
    clock: Callable[[], datetime] = utcnow,
    orphan_after_s: float = ORPHAN_AFTER_S,
) -> Recorder:
    """The recorder of `hotline tracker` (and of the demo, on its virtual clock)."""
    tickets = TicketService(
        sessions,
        uin_digits=settings.tickets.uin_digits,
        phone_region=settings.tickets.phone_region,
    )
    return Recorder(
        redis,
        settings.redis.keys,
        sessions,
        tickets,
        transfers=TransferLedger.build(redis, settings.redis.keys, settings.transfers),
        clock=clock,
        orphan_after_s=orphan_after_s,
    )


def build_screen_pops(settings: Settings, redis: Redis) -> FactConsumer:
    """The screen pops' consumer group: Redis only, beside every tracker."""
    return ScreenPops.build(redis, settings.redis.keys, settings.transfers).consumer()


async def run_tracker(settings: Settings, stop: asyncio.Event, *, with_recorder: bool) -> None:
    """Run until `stop` is set; a part that fails stops the others and its error is raised
    (`hotline tracker` exits for its supervisor; `hotline run` starts it again)."""
    outer_stop = stop
    stop = asyncio.Event()  # this run's own: a failed part stops only the tracker's parts
    relay = asyncio.create_task(outer_stop.wait(), name="stop")
    relay.add_done_callback(lambda _: stop.set())
    redis = Redis.from_url(
        settings.redis.url,
        socket_timeout=REDIS_TIMEOUT_S,
        socket_connect_timeout=REDIS_TIMEOUT_S,
    )
    service = TrackerService(settings, redis)
    screen_pops = build_screen_pops(settings, redis)
    tasks = [
        asyncio.create_task(service.run(stop), name="tracker"),
        asyncio.create_task(_consume(screen_pops, stop), name="screen-pops"),
    ]
    engine = None
    if with_recorder:
        engine = make_engine(settings.db.url)
        # The recorder blocks on the stream for up to block_ms: keep it under the timeout.
        recorder = build_recorder(settings, redis, make_sessionmaker(engine))
        tasks.append(asyncio.create_task(_consume(recorder, stop), name="recorder"))
    log.info(
        "tracker and screen pops on AMI %s:%s%s",
        settings.ami.host,
        settings.ami.port,
        " with the recorder" if with_recorder else "",
    )
    failure: BaseException | None = None
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
        for task in done:
            if not task.cancelled() and task.exception() is not None:
                failure = task.exception()
                log.critical("%s stopped", task.get_name(), exc_info=failure)
                stop.set()
        await asyncio.wait(tasks, timeout=10)
    finally:
        relay.cancel()
        for task in tasks:
            task.cancel()
        await asyncio.gather(relay, *tasks, return_exceptions=True)
        if engine is not None:
            await engine.dispose()
        await redis.aclose()
    if failure is not None:
        raise failure


class _FactReader(Protocol):
    group: str

    async def run(self, stop: asyncio.Event, block_ms: int = ...) -> None: ...


def _database_unreachable(exc: DBAPIError) -> bool:
    """The database went away (restarted, unreachable), not a statement it refused: a
    closed connection is an `InterfaceError`, a server shutting down an `OperationalError`."""
    return exc.connection_invalidated or isinstance(exc, (InterfaceError, OperationalError))


async def _consume(reader: _FactReader, stop: asyncio.Event, retry_s: float = 2.0) -> None:
    """Run a reader of the fact stream (the recorder, the screen pops); an outage of what
    it writes to pauses it (facts wait on the stream), not kills it."""
    while not stop.is_set():
        try:
            await reader.run(stop, block_ms=1000)
        except DBAPIError as exc:
            if not _database_unreachable(exc):
                raise
            log.warning("%s: the database unreachable, retrying in %.0f s: %s",
                        reader.group, retry_s, exc)  # fmt: skip
            await wait_any(stop, timeout_s=retry_s)
        except (RedisConnectionError, RedisTimeoutError, OSError) as exc:
            log.warning(
                "%s: Redis or the database unreachable, retrying in %.0f s: %s",
                reader.group,
                retry_s,
                exc,
            )
            await wait_any(stop, timeout_s=retry_s)
