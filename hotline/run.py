"""`hotline run`: every Hotline component in one process, for a small site.

The CRM API (uvicorn), the FastAGI server, the tracker with the recorder, the
lifecycle worker and, when `HOTLINE_IMAP_HOST` is set, the mail intake's IMAP reader
share one event loop, one set of settings and the real stores of
`HOTLINE_DATABASE_URL` and `HOTLINE_REDIS_URL`. Larger sites run them one by one
(`hotline crm|agi|tracker|worker|mail-intake`); nothing here differs from those commands but the
process they share.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from pathlib import Path

from core.settings import Settings

log = logging.getLogger(__name__)
STOP_TIMEOUT_S = 15.0


@dataclass
class RunOptions:
    api_host: str = "127.0.0.1"
    api_port: int = 8000
    agi_host: str = "127.0.0.1"
    agi_port: int = 4573
    sounds_dir: Path = Path("asterisk-config/sounds")
    # The process's own main (the command): once every component has started, its objects
    # are moved out of the garbage collector's way, as `hotline agi` does (settle_heap).
    settle_heap: bool = False


async def run_all(settings: Settings, options: RunOptions, stop: asyncio.Event) -> None:
    """Start every component, run until `stop`, stop them all.

    The database must be migrated first (the command does it before the loop starts).
    """
    from hotline.bootstrap import create_app, run_worker
    from hotline.bootstrap.agi import AgiService, settle_heap
    from hotline.bootstrap.mail import run_mail_intake
    from hotline.bootstrap.tracker import run_tracker
    from hotline.serve import serving
    from hotline.supervise import keep_running

    settings.agi.host, settings.agi.port = options.agi_host, options.agi_port
    app = create_app(settings)
    async with serving(app, options.api_host, options.api_port, log_level="info") as api:
        agi = AgiService(settings, sounds_dir=options.sounds_dir)
        await agi.start()  # raises MissingPrompts before anything else runs
        # The tracker, the worker and the mail intake start again after a failure (with
        # backoff); the API and the AGI server keep serving meanwhile. Only `stop` ends them.
        tasks = [
            asyncio.create_task(
                keep_running(
                    "tracker", lambda: run_tracker(settings, stop, with_recorder=True), stop
                ),
                name="tracker",
            ),
            asyncio.create_task(
                keep_running("worker", lambda: run_worker(settings, stop), stop), name="worker"
            ),
        ]
        if settings.imap.imap_host:
            tasks.append(
                asyncio.create_task(
                    keep_running("mail intake", lambda: run_mail_intake(settings, stop), stop),
                    name="mail-intake",
                )
            )
        log.info(
            "hotline run: API on %s:%d, AGI on %s:%d, tracker on AMI %s:%d, worker%s",
            options.api_host,
            options.api_port,
            options.agi_host,
            agi.port,
            settings.ami.host,
            settings.ami.port,
            f", mail intake on {settings.imap.imap_host}" if settings.imap.imap_host else "",
        )
        if options.settle_heap:
            settle_heap()
        try:
            await stop.wait()
        finally:
            stop.set()
            api.should_exit = True
            await agi.stop()
            _, pending = await asyncio.wait(tasks, timeout=STOP_TIMEOUT_S)
            for task in pending:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
