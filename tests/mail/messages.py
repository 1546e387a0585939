"""Raw test e-mails as mail clients send them (built with the standard library)."""

from __future__ import annotations

from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from typing import Any

from tests.lifecycle.conftest import msk

QUESTION = "Не формируется отчёт о продажах за ноябрь, выдаёт ошибку 500."
SIGNATURE = "Иван Петров\nООО Ромашка\nИНН 7707083893"
HOTLINE = "hotline@example.ru"


def mail(
    *,
    sender: str = "Иван Петров <ivan@romashka.ru>",
    subject: str = "Не формируется отчёт",
    text: str | None = None,
    html: str | None = None,
    charset: str = "utf-8",
    cte: str | None = None,
    message_id: str | None = "auto",
    headers: dict[str, str] | None = None,
    attachments: list[tuple[str, str, bytes]] | None = None,
) -> bytes:
    """One message; `text` defaults to the question signed with name, organisation, INN."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = HOTLINE
    message["Subject"] = subject
    message["Date"] = format_datetime(msk(2026, 11, 25, 9, 55))
    if message_id == "auto":
        message_id = make_msgid(domain="romashka.ru")
    if message_id:
        message["Message-ID"] = message_id
    for name, value in (headers or {}).items():
        message[name] = value
    body = f"{QUESTION}\n\nС уважением,\n{SIGNATURE}\n" if text is None else text
    if html is not None and text is None:
        message.set_content(html, subtype="html", charset=charset, cte=cte)
    else:
        message.set_content(body, charset=charset, cte=cte)
    for filename, content_type, content in attachments or []:
        maintype, subtype = content_type.split("/", 1)
        message.add_attachment(content, maintype=maintype, subtype=subtype, filename=filename)
    return message.as_bytes()


def reply_to(original: Any, text: str, subject: str | None = None, **over: Any) -> bytes:
    """A reply with the quoted history under it, naming `original` in In-Reply-To."""
    quoted = "\n".join(f"> {line}" for line in original.get_content().splitlines())
    body = f"{text}\n\nИван Петров\n\n25.11.2026, 10:05, hotline@example.ru пишет:\n{quoted}\n"
    headers = {"In-Reply-To": original["Message-ID"], "References": original["Message-ID"]}
    return mail(subject=subject or f"Re: {original['Subject']}", text=body, headers=headers, **over)
