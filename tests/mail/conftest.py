"""Fixtures of the mail intake tests: a real Dovecot, a real SMTP server, the app on a clock."""

from __future__ import annotations

import asyncio
import email
import email.policy
import threading
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

import httpx
import pytest
from aiosmtpd.controller import Controller
from asgi_lifespan import LifespanManager
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import create_async_engine

from core.settings import ImapSettings, LifecycleSettings, MailSettings, Settings
from crm.db import make_engine
from crm.lifecycle.mail import SmtpMailer
from crm.lifecycle.worker import Worker
from crm.models import InboundMail, Notification, Ticket
from hotline.bootstrap import create_app, create_worker
from tests.lifecycle.conftest import SECRET, FakeClock, msk
from tests.mail.dovecot import PASSWORD, USER, Dovecot, free_port

HOTLINE_ADDR = "hotline@example.ru"


@dataclass
class Inbox:
    """What the loopback SMTP server received (the worker sends the outbox there)."""

    port: int
    messages: list[EmailMessage] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self.lock:
            self.messages.append(message)  # type: ignore[arg-type]
        return "250 Message accepted for delivery"

    def to(self, addr: str) -> list[EmailMessage]:
        with self.lock:
            return [m for m in self.messages if m["To"] == addr]


@pytest.fixture(scope="session")
def dovecot() -> Iterator[Dovecot]:
    server = Dovecot()
    server.start()
    yield server
    server.remove()


@pytest.fixture
async def mailbox(dovecot: Dovecot) -> AsyncIterator[Dovecot]:
    """The Dovecot of this run, its INBOX emptied after each test."""
    if dovecot.process is None or dovecot.process.poll() is not None:
        dovecot.start()
    yield dovecot
    await dovecot.expunge_all()


@pytest.fixture
def smtp() -> Iterator[Inbox]:
    inbox = Inbox(port=free_port())
    controller = Controller(inbox, hostname="127.0.0.1", port=inbox.port)
    controller.start()
    yield inbox
    controller.stop()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(msk(2026, 11, 25, 10, 0))  # a Wednesday, inside business hours


@pytest.fixture
def mail_settings(settings: Settings, dovecot: Dovecot, smtp: Inbox) -> Settings:
    return settings.model_copy(
        update={
            "lifecycle": LifecycleSettings(
                secret_key=SECRET, public_url="https://hotline.example.ru"
            ),
            "mail": MailSettings(
                smtp_host="127.0.0.1", smtp_port=smtp.port, smtp_from=HOTLINE_ADDR
            ),
            "imap": ImapSettings(
                imap_host="127.0.0.1",
                imap_port=dovecot.port,
                imap_user=USER,
                imap_password=PASSWORD,
                imap_tls=False,
                imap_poll_s=0.5,
                mail_max_bytes=5 * 1024 * 1024,
            ),
        }
    )


@pytest.fixture
async def api(mail_settings: Settings, clock: FakeClock) -> AsyncIterator[httpx.AsyncClient]:
    """The CRM app on the fake clock, behind an in-process HTTP client."""
    app = create_app(mail_settings, clock=clock)
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://crm") as http:
            yield http


@pytest.fixture
async def worker(mail_settings: Settings, clock: FakeClock, smtp: Inbox) -> AsyncIterator[Worker]:
    """The lifecycle worker sending the outbox to the loopback SMTP server."""
    engine = make_engine(mail_settings.db.url)
    yield create_worker(mail_settings, engine, clock, SmtpMailer(mail_settings.mail))
    await engine.dispose()


async def count(url: str, model: Any, *where: Any) -> int:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            query = select(func.count()).select_from(model).where(*where)
            return (await conn.execute(query)).scalar_one()
    finally:
        await engine.dispose()


async def rows(url: str, model: Any, *where: Any) -> list[Any]:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            query = select(model).where(*where).order_by(model.id)
            return list((await conn.execute(query)).all())
    finally:
        await engine.dispose()


async def wait_until(check: Any, timeout_s: float = 30.0) -> None:
    """Wait (on events, not a fixed sleep) until `await check()` is true."""
    deadline = asyncio.get_running_loop().time() + timeout_s
    while not await check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("timed out waiting for the mail intake")
        await asyncio.sleep(0.05)


__all__ = [
    "HOTLINE_ADDR",
    "InboundMail",
    "Inbox",
    "Notification",
    "Ticket",
    "count",
    "rows",
    "wait_until",
]
