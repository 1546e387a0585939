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
from typing import Protocol

from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from callqueue.service import TrackerService
from core.aio import wait_any
from core.settings import Settings
from crm.transfers.screenpops import ScreenPops

log = logging.getLogger(__name__)
REDIS_TIMEOUT_S = 5.0


async def run_tracker(settings: Settings, stop: asyncio.Event, *, with_recorder: bool) -> None:
    """Run until `stop` is set."""
    redis = Redis.from_url(
        settings.redis.url,
        socket_timeout=REDIS_TIMEOUT_S,
        socket_connect_timeout=REDIS_TIMEOUT_S,
    )
    service = TrackerService(settings, redis)
    screen_pops = ScreenPops.build(redis, settings.transfers).consumer()
    tasks = [
        asyncio.create_task(service.run(stop), name="tracker"),
        asyncio.create_task(_consume(screen_pops, stop), name="screen-pops"),
    ]
    engine = None
    if with_recorder:
        from crm.db import make_engine, make_sessionmaker
        from crm.recorder import Recorder
        from crm.service import TicketService
        from crm.transfers.ledger import TransferLedger

        engine = make_engine(settings.db.url)
        sessions = make_sessionmaker(engine)
        tickets = TicketService(
            sessions,
            uin_digits=settings.tickets.uin_digits,
            phone_region=settings.tickets.phone_region,
        )
        # The recorder blocks on the stream for up to block_ms: keep it under the timeout.
        recorder = Recorder(
            redis, sessions, tickets, transfers=TransferLedger.build(redis, settings.transfers)
        )
        tasks.append(asyncio.create_task(_consume(recorder, stop), name="recorder"))
    log.info(
        "tracker and screen pops on AMI %s:%s%s",
        settings.ami.host,
        settings.ami.port,
        " with the recorder" if with_recorder else "",
    )
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
        for task in done:
            if not task.cancelled() and task.exception() is not None:
                log.critical("%s stopped", task.get_name(), exc_info=task.exception())
                stop.set()
        await asyncio.wait(tasks, timeout=10)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if engine is not None:
            await engine.dispose()
        await redis.aclose()


class _FactReader(Protocol):
    group: str

    async def run(self, stop: asyncio.Event, block_ms: int = ...) -> None: ...


async def _consume(reader: _FactReader, stop: asyncio.Event, retry_s: float = 2.0) -> None:
    """Run a reader of the fact stream (the recorder, the screen pops); an outage of what
    it writes to pauses it (facts wait on the stream), not kills it."""
    while not stop.is_set():
        try:
            await reader.run(stop, block_ms=1000)
        except (RedisConnectionError, RedisTimeoutError, OSError) as exc:
            log.warning(
                "%s: Redis or the database unreachable, retrying in %.0f s: %s",
                reader.group,
                retry_s,
                exc,
            )
            await wait_any(stop, timeout_s=retry_s)
