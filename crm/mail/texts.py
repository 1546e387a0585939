"""The intake's e-mails to senders (in Russian, as the regulation's users read them)."""

from __future__ import annotations

from datetime import datetime

from crm.lifecycle.mail import Mail
from crm.mail.rules import REASON_TEXT


def _mb(size_bytes: int) -> str:
    return f"{size_bytes / 1024 / 1024:.1f} МБ"


def refused_attachments_text(refused: list[tuple[str, int]], max_bytes: int) -> str:
    if not refused:
        return ""
    names = "\n".join(f"  - {name} ({_mb(size)})" for name, size in refused)
    return (
        f"\n\nНе приняты вложения больше {_mb(max_bytes)}:\n{names}\n"
        "Пришлите их, пожалуйста, меньшими частями или ссылкой в ответ на это письмо.\n"
    )


def acknowledgement_mail(
    uin: str,
    subject: str,
    registered_at: datetime,
    refused: list[tuple[str, int]],
    max_bytes: int,
) -> Mail:
    """The new request's acknowledgement; its subject carries `[#UIN]` for the replies."""
    when = registered_at.strftime("%d.%m.%Y %H:%M")
    return Mail(
        f"[#{uin}] Обращение зарегистрировано: {subject}"[:300],
        f"Здравствуйте!\n\nВаше обращение зарегистрировано {when} под номером {uin}.\n"
        "Отвечая на это письмо, сохраните номер обращения в теме: ответ попадёт в то же "
        f"обращение. По телефону назовите номер {uin}."
        + refused_attachments_text(refused, max_bytes)
        + "\n",
    )


def reply_note_mail(uin: str, refused: list[tuple[str, int]], max_bytes: int) -> Mail:
    """A reply was added to the ticket but some of its attachments were not kept."""
    return Mail(
        f"[#{uin}] Вложения не приняты",
        f"Здравствуйте!\n\nВаше письмо добавлено к обращению № {uin}."
        + refused_attachments_text(refused, max_bytes),
    )


def returned_mail(subject: str, reasons: list[str]) -> Mail:
    """A message without enough information, sent back without registration."""
    lines = "\n".join(f"  - {REASON_TEXT[r]}" for r in reasons)
    return Mail(
        f"Письмо не зарегистрировано: {subject or '(без темы)'}"[:300],
        "Здравствуйте!\n\nВаше письмо не зарегистрировано как обращение, потому что:\n"
        f"{lines}\n\nДополните, пожалуйста, письмо и отправьте его снова: укажите фамилию и "
        "имя, организацию и её ИНН и опишите вопрос или проблему.\n",
    )
