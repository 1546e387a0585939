"""`POST /api/mail/inbound`: the intake's decisions, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from crm.lifecycle.worker import Worker
from crm.models import InboundMail, MailAttachment, Notification, Ticket
from tests.conftest import auth
from tests.lifecycle.conftest import FakeClock, msk, post
from tests.mail.conftest import HOTLINE_ADDR, Inbox, count, rows
from tests.mail.messages import QUESTION, mail, reply_to


async def inbound(api: httpx.AsyncClient, raw: bytes, role: str = "service") -> dict[str, Any]:
    response = await api.post(
        "/api/mail/inbound",
        content=raw,
        headers={**auth(role), "Content-Type": "message/rfc822"},
    )
    assert response.status_code == 200, response.text
    return response.json()


async def test_a_new_request_is_a_ticket_on_channel_email_and_is_acknowledged(
    api: httpx.AsyncClient, worker: Worker, smtp: Inbox, database_url: str
) -> None:
    raw = mail(attachments=[("screen.png", "image/png", b"\x89PNG" + b"x" * 1000)])
    decided = await inbound(api, raw)
    assert decided["decision"] == "registered" and not decided["duplicate"]
    uin = decided["uin"]
    ticket = (await api.get(f"/api/tickets/{uin}", headers=auth("agent"))).json()
    assert ticket["channel"] == "email"
    assert ticket["caller_email"] == "ivan@romashka.ru"
    assert ticket["caller_name"] == "Иван Петров"
    assert ticket["org_name"] == "ООО Ромашка"
    assert ticket["org_inn"] == "7707083893"
    assert ticket["summary"] == "Не формируется отчёт"
    assert ticket["description"] == QUESTION  # the signature is not the question
    assert (await worker.run_once())["sent"] == 1
    (ack,) = smtp.to("ivan@romashka.ru")
    assert ack["Subject"].startswith(f"[#{uin}]")
    assert uin in ack.get_content()
    assert ack["In-Reply-To"] == mail_id(raw)
    assert ack["Auto-Submitted"] == "auto-replied"
    conversation = (await api.get(f"/api/tickets/{uin}/messages", headers=auth("agent"))).json()
    assert [m["direction"] for m in conversation] == ["in", "out"]
    assert conversation[0]["attachments"][0]["filename"] == "screen.png"
    assert conversation[0]["attachments"][0]["refused"] is None
    assert conversation[1]["sent"] and conversation[1]["message_id"] == ack["Message-ID"]
    assert await count(database_url, MailAttachment, MailAttachment.content.is_not(None)) == 1


def mail_id(raw: bytes) -> str:
    import email

    return email.message_from_bytes(raw)["Message-ID"]


async def test_the_same_message_twice_is_decided_once(
    api: httpx.AsyncClient, database_url: str
) -> None:
    raw = mail()
    first = await inbound(api, raw)
    again = await inbound(api, raw)
    assert again == {**first, "duplicate": True}
    assert await count(database_url, Ticket) == 1
    assert await count(database_url, Notification) == 1
    # Without a Message-ID the digest of the whole message is the key.
    bare = mail(message_id=None, subject="Другой вопрос про отчёты")
    assert (await inbound(api, bare))["key"].startswith("sha256:")
    assert (await inbound(api, bare))["duplicate"]
    assert await count(database_url, Ticket) == 2


async def test_a_reply_joins_its_ticket_and_ends_the_wait_for_information(
    api: httpx.AsyncClient, worker: Worker, smtp: Inbox, database_url: str, clock: FakeClock
) -> None:
    uin = (await inbound(api, mail()))["uin"]
    clock.set(msk(2026, 11, 25, 11, 0))
    assert (
        await post(api, uin, "info-requests", {"question": "Какой браузер?"})
    ).status_code == 201
    await worker.run_once()
    clock.set(msk(2026, 11, 25, 12, 0))
    request = next(m for m in smtp.to("ivan@romashka.ru") if "информация" in m["Subject"])
    decided = await inbound(api, reply_to(request, "Браузер Firefox 128, Windows 11."))
    assert decided["decision"] == "reply" and decided["uin"] == uin
    ticket = (await api.get(f"/api/tickets/{uin}", headers=auth("agent"))).json()
    assert ticket["status"] == "in_progress"
    log = (await api.get(f"/api/tickets/{uin}/events", headers=auth("agent"))).json()
    actions = [e["action"] for e in log]
    assert "caller_replied" in actions and actions.count("mail_received") == 2
    conversation = (await api.get(f"/api/tickets/{uin}/messages", headers=auth("agent"))).json()
    assert [m["direction"] for m in conversation] == ["in", "out", "out", "in"]
    assert "Firefox" in conversation[-1]["body"]
    assert await count(database_url, Ticket) == 1


async def test_the_uin_in_the_subject_short_or_long_names_the_ticket(
    api: httpx.AsyncClient, database_url: str
) -> None:
    uin = (await inbound(api, mail()))["uin"]
    short = str(int(uin))
    for subject in (f"Re: [#{uin}] отчёт", f"[#{short}] ещё один скриншот"):
        decided = await inbound(api, mail(subject=subject, text="Прилагаю ещё данные."))
        assert (decided["decision"], decided["uin"]) == ("reply", uin)
    assert await count(database_url, Ticket) == 1
    # A UIN nobody has is not a reply: the message is a request of its own.
    other = await inbound(api, mail(subject="[#99999] Не открывается личный кабинет"))
    assert other["decision"] == "registered" and other["uin"] != uin


async def test_without_enough_information_the_message_is_returned_with_reasons(
    api: httpx.AsyncClient, worker: Worker, smtp: Inbox, database_url: str
) -> None:
    empty = mail(sender="someone@example.ru", subject="Вопрос", text="")
    decided = await inbound(api, empty)
    assert decided["decision"] == "returned" and decided["uin"] is None
    assert decided["reasons"] == ["no_question", "no_name"]
    bad_inn = mail(text=f"{QUESTION}\n\nИван Петров\nИНН 7707083894\n")
    assert (await inbound(api, bad_inn))["reasons"] == ["bad_inn"]
    assert await count(database_url, Ticket) == 0
    await worker.run_once()
    (returned,) = smtp.to("someone@example.ru")
    assert returned["Subject"] == "Письмо не зарегистрировано: Вопрос"
    assert "нет вопроса" in returned.get_content() and "не указано, кто" in returned.get_content()
    (log,) = await rows(database_url, InboundMail, InboundMail.from_addr == "someone@example.ru")
    assert log.decision == "returned" and log.reasons == ["no_question", "no_name"]
    assert log.received_at is not None
    listed = await api.get("/api/mail/inbound?decision=returned", headers=auth("supervisor"))
    assert [(m["from_addr"], m["reasons"]) for m in listed.json()] == [
        ("ivan@romashka.ru", ["bad_inn"]),
        ("someone@example.ru", ["no_question", "no_name"]),
    ]
    assert (await api.get("/api/mail/inbound", headers=auth("agent"))).status_code == 403


async def test_the_name_can_come_from_the_senders_earlier_ticket(
    api: httpx.AsyncClient,
) -> None:
    first = await inbound(api, mail())
    unsigned = mail(sender="ivan@romashka.ru", subject="Новый вопрос", text=QUESTION)
    decided = await inbound(api, unsigned)
    assert decided["decision"] == "registered" and decided["uin"] != first["uin"]
    ticket = (await api.get(f"/api/tickets/{decided['uin']}", headers=auth("agent"))).json()
    assert (ticket["caller_name"], ticket["org_inn"]) == ("Иван Петров", "7707083893")


async def test_robots_are_never_answered_and_never_tickets(
    api: httpx.AsyncClient, database_url: str
) -> None:
    robots = [
        {"Auto-Submitted": "auto-replied"},
        {"Precedence": "bulk"},
        {"Precedence": "list"},
        {"X-Autoreply": "yes"},
        {"List-Id": "<news.example.ru>"},
        {"Return-Path": "<>"},
    ]
    for headers in robots:
        decided = await inbound(api, mail(headers=headers))
        assert decided["decision"] == "ignored", headers
    daemon = mail(sender="MAILER-DAEMON@mx.example.ru", subject="Undelivered Mail")
    assert (await inbound(api, daemon))["decision"] == "ignored"
    ours = mail(sender=HOTLINE_ADDR)
    assert (await inbound(api, ours))["reasons"] == ["sent by the hotline itself"]
    assert await count(database_url, Ticket) == 0
    assert await count(database_url, Notification) == 0


async def test_russian_charsets_and_html_only_mail_read_right(
    api: httpx.AsyncClient,
) -> None:
    for charset, cte in (("koi8-r", "quoted-printable"), ("cp1251", "base64")):
        decided = await inbound(api, mail(charset=charset, cte=cte))
        ticket = (await api.get(f"/api/tickets/{decided['uin']}", headers=auth("agent"))).json()
        assert ticket["description"] == QUESTION, charset
        assert ticket["org_name"] == "ООО Ромашка"
    html = (
        "<html><body><p>Не формируется <b>отчёт</b> о продажах за ноябрь.</p>"
        "<p>Иван Петров</p></body></html>"
    )
    decided = await inbound(api, mail(html=html, charset="cp1251"))
    ticket = (await api.get(f"/api/tickets/{decided['uin']}", headers=auth("agent"))).json()
    assert "Не формируется отчёт о продажах за ноябрь." in ticket["description"]
    assert "<" not in ticket["description"]


async def test_an_attachment_over_the_limit_is_refused_and_the_sender_told(
    api: httpx.AsyncClient, worker: Worker, smtp: Inbox, database_url: str
) -> None:
    big = b"\0" * (6 * 1024 * 1024)  # the test limit is 5 MiB
    raw = mail(
        attachments=[("dump.bin", "application/octet-stream", big), ("ok.txt", "text/plain", b"ok")]
    )
    decided = await inbound(api, raw)
    assert decided["decision"] == "registered"
    conversation = (
        await api.get(f"/api/tickets/{decided['uin']}/messages", headers=auth("agent"))
    ).json()
    files = {a["filename"]: a for a in conversation[0]["attachments"]}
    assert files["dump.bin"]["refused"] and files["dump.bin"]["size_bytes"] == len(big)
    assert files["ok.txt"]["refused"] is None
    base = f"/api/tickets/{decided['uin']}/attachments"
    kept = await api.get(f"{base}/{files['ok.txt']['id']}", headers=auth("agent"))
    assert kept.status_code == 200 and kept.content == b"ok"
    assert kept.headers["content-disposition"] == "attachment; filename*=UTF-8''ok.txt"
    refused = await api.get(f"{base}/{files['dump.bin']['id']}", headers=auth("agent"))
    assert refused.status_code == 410 and "dump.bin" in refused.json()["detail"]
    assert (await api.get(f"{base}/999999", headers=auth("agent"))).status_code == 404
    assert await count(database_url, MailAttachment, MailAttachment.content.is_(None)) == 1
    await worker.run_once()
    (ack,) = smtp.to("ivan@romashka.ru")
    assert "dump.bin" in ack.get_content() and "Не приняты" in ack.get_content()


async def test_saturdays_message_is_registered_monday_at_nine_with_mondays_deadline(
    api: httpx.AsyncClient, clock: FakeClock, worker: Worker, smtp: Inbox
) -> None:
    clock.set(msk(2026, 11, 28, 14, 30))  # Saturday
    decided = await inbound(api, mail())
    monday = msk(2026, 11, 30, 9, 0)
    assert decided["registered_at"] is not None
    uin = decided["uin"]
    ticket = (await api.get(f"/api/tickets/{uin}", headers=auth("agent"))).json()
    from datetime import datetime

    assert datetime.fromisoformat(ticket["created_at"]) == monday
    assert (await worker.run_once()).get("sent", 0) == 0  # acknowledged at registration
    clock.set(msk(2026, 11, 30, 10, 0))
    sla = (await api.get(f"/api/tickets/{uin}/sla", headers=auth("service"))).json()
    assert sla["elapsed_s"] == 3600  # the clock started Monday 09:00, not on Saturday
    # ZnK priority 3: 7 business days of 9 h from Monday 09:00 -> Tuesday of next week, 18:00
    assert datetime.fromisoformat(sla["deadline"]) == msk(2026, 12, 8, 18, 0)
    assert (await worker.run_once(msk(2026, 11, 30, 9, 0)))["sent"] == 1
    assert smtp.to("ivan@romashka.ru")[0]["Subject"].startswith(f"[#{uin}]")


async def test_the_endpoint_is_for_the_service_role_and_wants_a_message(
    api: httpx.AsyncClient,
) -> None:
    agent = await api.post("/api/mail/inbound", content=mail(), headers=auth("agent"))
    assert agent.status_code == 403
    empty = await api.post("/api/mail/inbound", content=b"", headers=auth("service"))
    assert empty.status_code == 422
    junk = await api.post("/api/mail/inbound", content=b"hello world", headers=auth("service"))
    assert junk.status_code == 422 and "RFC 822" in junk.json()["detail"]
    missing = await api.get("/api/tickets/00000999/messages", headers=auth("agent"))
    assert missing.status_code == 404


async def test_the_same_message_at_once_from_two_sources_is_one_ticket(
    api: httpx.AsyncClient, database_url: str
) -> None:
    before = await inbound(api, mail(subject="Предыдущий вопрос про отчёт"))
    raw = mail()
    both = await asyncio.gather(*(inbound(api, raw) for _ in range(4)))
    assert sorted(d["duplicate"] for d in both) == [False, True, True, True]
    assert len({d["uin"] for d in both}) == 1
    assert await count(database_url, Ticket) == 2
    assert await count(database_url, InboundMail) == 2
    assert await count(database_url, Notification) == 2
    # The key is claimed before a UIN is drawn: the repeats burnt none.
    (uin,) = {d["uin"] for d in both}
    after = await inbound(api, mail(subject="Следующий вопрос про отчёт"))
    assert [int(before["uin"]) + 1, int(before["uin"]) + 2] == [int(uin), int(after["uin"])]


async def test_a_replys_attachment_over_the_limit_is_refused_with_a_note(
    api: httpx.AsyncClient, worker: Worker, smtp: Inbox, clock: FakeClock
) -> None:
    uin = (await inbound(api, mail()))["uin"]
    clock.set(msk(2026, 11, 25, 11, 0))
    big = ("dump.bin", "application/octet-stream", b"\0" * (6 * 1024 * 1024))
    decided = await inbound(api, mail(subject=f"Re: [#{uin}]", text="Дамп.", attachments=[big]))
    assert decided["decision"] == "reply"
    await worker.run_once()
    note = [m for m in smtp.to("ivan@romashka.ru") if "Вложения не приняты" in m["Subject"]]
    assert len(note) == 1 and note[0]["Subject"].startswith(f"[#{uin}]")
    assert "dump.bin" in note[0].get_content()
