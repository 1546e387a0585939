"""The mail intake's wiring: `hotline mail-intake` and the IMAP reader inside `hotline run`."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from core.settings import Settings
from crm.db import make_engine, make_sessionmaker
from crm.lifecycle.calendar import CalendarStore
from crm.mail.imap import ImapReader
from crm.models import utcnow
from crm.service import Clock
from hotline.bootstrap.api import mail_intake

log = logging.getLogger(__name__)


@asynccontextmanager
async def mail_reader(settings: Settings, clock: Clock = utcnow) -> AsyncIterator[ImapReader]:
    """The IMAP reader of `HOTLINE_IMAP_*` feeding the intake on its own engine."""
    engine = make_engine(settings.db.url)
    try:
        sessions = make_sessionmaker(engine)
        intake = mail_intake(settings, sessions, CalendarStore(sessions, settings.calendar), clock)

        async def take(raw: bytes) -> object:
            return await intake.take(raw, source="imap")

        yield ImapReader(settings.imap, take)
    finally:
        await engine.dispose()


async def run_mail_intake(settings: Settings, stop: asyncio.Event) -> None:
    """`hotline mail-intake`: read the mailbox until `stop` is set."""
    async with mail_reader(settings) as reader:
        await reader.run(stop)
