"""The mailbox read over IMAP from a real Dovecot; e-mails out through a real SMTP server."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator

import httpx
import pytest

from core.settings import Settings
from crm.lifecycle.worker import Worker
from crm.mail.imap import TAKEN, ImapReader
from crm.models import InboundMail, Notification, Ticket
from hotline.bootstrap.mail import mail_reader
from tests.conftest import auth
from tests.lifecycle.conftest import FakeClock, msk
from tests.mail.conftest import Inbox, count, wait_until
from tests.mail.dovecot import Dovecot
from tests.mail.messages import mail, reply_to


@pytest.fixture
async def reader(
    mail_settings: Settings, clock: FakeClock, mailbox: Dovecot
) -> AsyncIterator[ImapReader]:
    async with mail_reader(mail_settings, clock) as built:
        yield built


async def uins(api: httpx.AsyncClient) -> list[str]:
    page = (await api.get("/api/tickets?page_size=100", headers=auth("agent"))).json()
    return sorted(t["uin"] for t in page["items"])


async def test_requests_replies_repeats_returns_and_robots_through_the_mailbox(
    api: httpx.AsyncClient,
    reader: ImapReader,
    mailbox: Dovecot,
    worker: Worker,
    smtp: Inbox,
    database_url: str,
    clock: FakeClock,
) -> None:
    request = mail()
    await mailbox.append(request, request)  # the same message delivered twice
    assert (await reader.run_once()).taken == 2
    (uin,) = await uins(api)
    await worker.run_once()
    (ack,) = smtp.to("ivan@romashka.ru")
    assert ack["Subject"].startswith(f"[#{uin}]")

    clock.set(msk(2026, 11, 25, 11, 0))
    await mailbox.append(
        reply_to(ack, "Ещё скриншот ошибки прилагаю."),
        mail(sender="anna@example.ru", subject="?", text=""),  # nothing to register
        mail(sender="Anna <anna@example.ru>", headers={"Auto-Submitted": "auto-replied"}),
    )
    assert (await reader.run_once()).taken == 3
    assert await uins(api) == [uin]  # the reply joined the ticket; nothing else became one
    conversation = (await api.get(f"/api/tickets/{uin}/messages", headers=auth("agent"))).json()
    assert [m["direction"] for m in conversation] == ["in", "out", "in"]
    await worker.run_once()
    (returned,) = smtp.to("anna@example.ru")  # the robot got nothing
    assert "не зарегистрировано" in returned["Subject"]
    assert await count(database_url, InboundMail) == 4
    assert await mailbox.flagged(TAKEN) == (5, 5)
    assert (await reader.run_once()).taken == 0  # everything was decided


async def test_a_decision_whose_flag_was_lost_is_not_taken_twice(
    mail_settings: Settings, clock: FakeClock, mailbox: Dovecot, database_url: str
) -> None:
    """The intake committed, then the reader died before flagging the message."""
    await mailbox.append(mail())
    async with mail_reader(mail_settings, clock) as real:
        crashed = ImapReader(mail_settings.imap, crash_after(real))
        assert (await crashed.run_once()).failed == 1
        assert await mailbox.flagged(TAKEN) == (1, 0)
        assert (await real.run_once()).taken == 1
    assert await count(database_url, Ticket) == 1
    assert await count(database_url, Notification) == 1
    assert await mailbox.flagged(TAKEN) == (1, 1)


def crash_after(reader: ImapReader):  # type: ignore[no-untyped-def]
    async def take(raw: bytes) -> None:
        await reader._take(raw)  # the real intake decides and commits
        raise ConnectionResetError("the reader died before its STORE")

    return take


async def test_idle_takes_a_new_message_at_once_and_a_restarted_server_loses_nothing(
    mail_settings: Settings, clock: FakeClock, mailbox: Dovecot, database_url: str
) -> None:
    settings = mail_settings.model_copy(
        update={"imap": mail_settings.imap.model_copy(update={"imap_poll_s": 600.0})}
    )
    stop = asyncio.Event()
    async with mail_reader(settings, clock) as reader:
        task = asyncio.create_task(reader.run(stop))
        try:
            first = [mail(subject=f"Вопрос номер {n} про отчёт") for n in range(5)]
            await mailbox.append(*first)

            async def tickets_are(n: int) -> bool:
                return await count(database_url, Ticket) == n

            # Polling every 600 s: only IDLE's push explains taking them within seconds.
            await wait_until(lambda: tickets_are(5), timeout_s=20)
            mailbox.restart()  # the IMAP server goes away in the middle of the reader's IDLE
            await mailbox.append(
                *(mail(subject=f"Вопрос номер {n} про отчёт") for n in range(5, 12))
            )
            await wait_until(lambda: tickets_are(12), timeout_s=40)
            # a message arriving while the reader reconnects, and a repeat of an old one
            mailbox.restart()
            await mailbox.append(first[0], mail(subject="Последний вопрос про отчёт"))
            await wait_until(lambda: tickets_are(13), timeout_s=40)
        finally:
            stop.set()
            await asyncio.wait_for(task, 15)
    assert await count(database_url, InboundMail) == 13
    assert await mailbox.flagged(TAKEN) == (14, 14)


async def test_a_30_mb_attachment_is_refused_cleanly(
    api: httpx.AsyncClient,
    reader: ImapReader,
    mailbox: Dovecot,
    worker: Worker,
    smtp: Inbox,
) -> None:
    big = bytes(range(256)) * (30 * 1024 * 1024 // 256)
    await mailbox.append(mail(attachments=[("archive.zip", "application/zip", big)]))
    assert (await reader.run_once()).taken == 1
    (uin,) = await uins(api)
    conversation = (await api.get(f"/api/tickets/{uin}/messages", headers=auth("agent"))).json()
    (attachment,) = conversation[0]["attachments"]
    assert attachment["filename"] == "archive.zip" and attachment["size_bytes"] == len(big)
    assert "larger than" in attachment["refused"]
    await worker.run_once()
    (ack,) = smtp.to("ivan@romashka.ru")
    assert "archive.zip (30.0 МБ)" in ack.get_content()


async def test_tls_checks_the_servers_certificate(
    mail_settings: Settings, clock: FakeClock, database_url: str
) -> None:
    server = Dovecot(tls=True)
    server.start()
    try:
        await server.append(mail())
        imaps = mail_settings.imap.model_copy(
            update={"imap_port": server.tls_port, "imap_tls": True}
        )
        untrusted = mail_settings.model_copy(update={"imap": imaps})
        async with mail_reader(untrusted, clock) as reader:
            with pytest.raises(ssl.SSLCertVerificationError):
                await reader.run_once()
        assert await count(database_url, Ticket) == 0
        trusted = mail_settings.model_copy(
            update={"imap": imaps.model_copy(update={"imap_ca_file": str(server.cert)})}
        )
        async with mail_reader(trusted, clock) as reader:
            assert (await reader.run_once()).taken == 1
        assert await count(database_url, Ticket) == 1
    finally:
        server.remove()


async def test_without_idle_the_reader_polls(
    mail_settings: Settings, clock: FakeClock, database_url: str
) -> None:
    server = Dovecot(extra="imap_capability = IMAP4rev1 LITERAL+ UIDPLUS")
    server.start()
    stop = asyncio.Event()
    try:
        imap = mail_settings.imap.model_copy(update={"imap_port": server.port, "imap_poll_s": 0.3})
        settings = mail_settings.model_copy(update={"imap": imap})
        async with mail_reader(settings, clock) as reader:
            task = asyncio.create_task(reader.run(stop))
            try:

                async def one_ticket() -> bool:
                    return await count(database_url, Ticket) == 1

                async def passes(n: int) -> bool:
                    return reader.passes >= n

                await wait_until(lambda: passes(2))  # connected, found nothing, polled
                await server.append(mail())
                await wait_until(one_ticket, timeout_s=20)
                assert reader._client is not None
                assert not reader._client.has_capability("IDLE")
                assert reader.passes >= 3  # it came in a later pass, not by a push
            finally:
                stop.set()
                await asyncio.wait_for(task, 15)
    finally:
        server.remove()
