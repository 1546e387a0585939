"""The lifecycle worker's wiring: `hotline worker` and the worker inside `hotline run`."""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy.ext.asyncio import AsyncEngine

from core.settings import Settings
from crm.db import make_engine, make_sessionmaker
from crm.lifecycle.calendar import CalendarStore
from crm.lifecycle.mail import Mailer, SmtpMailer
from crm.lifecycle.worker import Worker
from crm.models import utcnow
from crm.service import Clock
from hotline.bootstrap.api import confirmation_tokens

log = logging.getLogger(__name__)


def create_worker(
    settings: Settings, engine: AsyncEngine, clock: Clock = utcnow, mailer: Mailer | None = None
) -> Worker:
    """The lifecycle worker on `engine`; SMTP from the settings unless `mailer` is given."""
    sessions = make_sessionmaker(engine)
    if mailer is None and settings.mail.smtp_host:
        mailer = SmtpMailer(settings.mail)
    if mailer is None:
        log.warning("HOTLINE_SMTP_HOST is empty: e-mails stay in the outbox")
    return Worker(
        sessions,
        settings.lifecycle,
        CalendarStore(sessions, settings.calendar),
        confirmation_tokens(settings),
        mailer,
        clock,
    )


async def run_worker(settings: Settings, stop: asyncio.Event) -> None:
    """`hotline worker`: rounds until `stop` is set, then the engine is closed."""
    engine = make_engine(settings.db.url)
    try:
        await create_worker(settings, engine).run(stop)
    finally:
        await engine.dispose()
