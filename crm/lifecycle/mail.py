"""E-mails of the lifecycle: their texts, and the SMTP sender the worker drains the outbox with.

Texts are in Russian, as the callers of the regulation read them; each names the UIN.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

import aiosmtplib

from core.settings import MailSettings

_REFUSAL_TEXT = {
    "out_of_scope": "обращение не относится к услугам, которые оказывает служба поддержки",
    "duplicate": "обращение повторяет ранее зарегистрированное",
    "no_information": (
        "запрошенная информация не была предоставлена в течение 14 рабочих дней "
        "после запросов по электронной почте"
    ),
}


@dataclass(frozen=True)
class Mail:
    subject: str
    body: str


def solution_mail(uin: str, solution: str, link: str) -> Mail:
    return Mail(
        f"Обращение № {uin}: решение",
        f"Здравствуйте!\n\nПо вашему обращению № {uin} подготовлено решение:\n\n{solution}\n\n"
        f"Пожалуйста, подтвердите решение, перейдя по ссылке:\n{link}\n\n"
        "Если проблема не решена, ответьте на это письмо или позвоните на горячую линию, "
        f"назвав номер обращения {uin}.\n",
    )


def confirm_reminder_mail(uin: str, solution: str, link: str, number: int) -> Mail:
    return Mail(
        f"Обращение № {uin}: подтвердите решение (напоминание {number})",
        f"Здравствуйте!\n\nНапоминаем: по обращению № {uin} предложено решение:\n\n{solution}\n\n"
        f"Подтвердите его, пожалуйста, по ссылке:\n{link}\n\n"
        "Без подтверждения обращение будет закрыто через 30 рабочих дней после решения.\n",
    )


def info_request_mail(uin: str, question: str, number: int) -> Mail:
    return Mail(
        f"Обращение № {uin}: нужна дополнительная информация (запрос {number})",
        f"Здравствуйте!\n\nДля работы по обращению № {uin} нам нужна информация:\n\n"
        f"{question}\n\nОтветьте, пожалуйста, на это письмо. Без ответа в течение "
        "14 рабочих дней после первого запроса обращение будет закрыто.\n",
    )


def refusal_mail(uin: str, reason: str, note: str | None, solution: str | None) -> Mail:
    body = f"Здравствуйте!\n\nОбращение № {uin} закрыто без исполнения: {_REFUSAL_TEXT[reason]}."
    if note:
        body += f"\n\n{note}"
    if solution:
        body += f"\n\nРешение по исходному обращению:\n\n{solution}"
    return Mail(f"Обращение № {uin}: закрыто", body + "\n")


def escalation_mail(uin: str, line: int, used_share: float, deadline: str | None) -> Mail:
    return Mail(
        f"Обращение № {uin}: эскалация на {line}-ю линию",
        f"Обращение № {uin} передано на {line}-ю линию поддержки: израсходовано "
        f"{used_share:.0%} срока, крайний срок {deadline or 'не установлен'}.\n",
    )


class Mailer(abc.ABC):
    """Sends one e-mail; raises on failure (the outbox keeps the row and tries again)."""

    @abc.abstractmethod
    async def send(self, to_addr: str, subject: str, body: str) -> None: ...

    def new_message_id(self) -> str:
        """A fresh Message-ID for an outbox row (kept, so replies can name it)."""
        return make_msgid()

    async def send_message(
        self,
        to_addr: str,
        subject: str,
        body: str,
        message_id: str | None = None,
        in_reply_to: str | None = None,
    ) -> None:
        """`send` with the Message-ID (and In-Reply-To) the row keeps; plain `send` by default."""
        await self.send(to_addr, subject, body)


class SmtpMailer(Mailer):
    """SMTP through aiosmtplib, one connection per message (the outbox is small and slow)."""

    def __init__(self, settings: MailSettings) -> None:
        if not settings.smtp_host:
            raise ValueError("HOTLINE_SMTP_HOST is empty: no SMTP server to send through")
        self._settings = settings

    def new_message_id(self) -> str:
        return make_msgid(domain=self._settings.smtp_from.rpartition("@")[2])

    def message(
        self,
        to_addr: str,
        subject: str,
        body: str,
        message_id: str | None = None,
        in_reply_to: str | None = None,
    ) -> EmailMessage:
        message = EmailMessage()
        message["From"] = self._settings.smtp_from
        message["To"] = to_addr
        message["Subject"] = subject
        message["Date"] = formatdate(localtime=False)
        message["Message-ID"] = message_id or self.new_message_id()
        if in_reply_to:
            message["In-Reply-To"] = in_reply_to
            message["References"] = in_reply_to
        # Our own answers are automatic: RFC 3834, so that other robots do not answer them.
        message["Auto-Submitted"] = "auto-replied" if in_reply_to else "auto-generated"
        message.set_content(body)
        return message

    async def send(self, to_addr: str, subject: str, body: str) -> None:
        await self.send_message(to_addr, subject, body)

    async def send_message(
        self,
        to_addr: str,
        subject: str,
        body: str,
        message_id: str | None = None,
        in_reply_to: str | None = None,
    ) -> None:
        s = self._settings
        await aiosmtplib.send(
            self.message(to_addr, subject, body, message_id, in_reply_to),
            hostname=s.smtp_host,
            port=s.smtp_port,
            username=s.smtp_user or None,
            password=s.smtp_password or None,
            start_tls=s.smtp_starttls,
            timeout=s.smtp_timeout_s,
        )
