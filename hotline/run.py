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


async def run_all(settings: Settings, options: RunOptions, stop: asyncio.Event) -> None:
    """Start every component, run until `stop` (or one of them fails), stop them all.

    The database must be migrated first (the command does it before the loop starts).
    """
    from hotline.bootstrap import create_app, run_worker
    from hotline.bootstrap.agi import AgiService
    from hotline.bootstrap.mail import run_mail_intake
    from hotline.bootstrap.tracker import run_tracker
    from hotline.serve import serving

    settings.agi.host, settings.agi.port = options.agi_host, options.agi_port
    app = create_app(settings)
    async with serving(app, options.api_host, options.api_port, log_level="info") as api:
        agi = AgiService(settings, sounds_dir=options.sounds_dir)
        await agi.start()  # raises MissingPrompts before anything else runs
        tasks = [
            asyncio.create_task(run_tracker(settings, stop, with_recorder=True), name="tracker"),
            asyncio.create_task(run_worker(settings, stop), name="worker"),
            asyncio.create_task(stop.wait(), name="stop"),
        ]
        if settings.imap.imap_host:
            tasks.append(asyncio.create_task(run_mail_intake(settings, stop), name="mail-intake"))
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
        try:
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                if task.get_name() != "stop":
                    # A component that returns or fails on its own takes the others down:
                    # a half-running hotline is worse than a restart by the supervisor.
                    error = None if task.cancelled() else task.exception()
                    log.critical("%s stopped", task.get_name(), exc_info=error)
        finally:
            stop.set()
            api.should_exit = True
            await agi.stop()
            _, pending = await asyncio.wait(tasks, timeout=STOP_TIMEOUT_S)
            for task in pending:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
