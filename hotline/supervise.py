"""Keeping one component of `hotline run` going: restarted with backoff when it fails.

One failed part must not take the others down: a recorder that lost its database, a
tracker whose AMI login was refused, a worker that hit a bug. Each is started again after
a wait that doubles up to a minute (and starts over once it has run a while), while the
API and the AGI server keep serving callers. Only the process's own stop ends it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

from core.aio import wait_any

log = logging.getLogger(__name__)
FIRST_BACKOFF_S = 1.0
MAX_BACKOFF_S = 60.0
HEALTHY_AFTER_S = 60.0  # a run this long resets the backoff


async def keep_running(
    name: str,
    run: Callable[[], Awaitable[None]],
    stop: asyncio.Event,
    *,
    first_s: float = FIRST_BACKOFF_S,
    max_s: float = MAX_BACKOFF_S,
    healthy_s: float = HEALTHY_AFTER_S,
) -> int:
    """Run `run()` until `stop` is set, starting it again whenever it ends on its own.

    Returns how many times it was restarted."""
    restarts = 0
    delay_s = first_s
    while not stop.is_set():
        started = time.monotonic()
        try:
            await run()
        except Exception:  # any failure of the component: logged, and it starts again
            log.exception("%s failed", name)
        else:
            if stop.is_set():
                break
            log.error("%s stopped on its own", name)
        if time.monotonic() - started >= healthy_s:
            delay_s = first_s
        log.warning("%s starts again in %.0f s", name, delay_s)
        await wait_any(stop, timeout_s=delay_s)
        if stop.is_set():
            break
        restarts += 1
        delay_s = min(max_s, delay_s * 2)
    return restarts
