"""The mail intake's API shapes."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel

from crm.models import MailDecision


class MailOutcomePublic(BaseModel):
    """`POST /api/mail/inbound`'s answer: what was decided (`duplicate`: decided before)."""

    decision: MailDecision
    key: str
    uin: str | None
    reasons: list[str]
    registered_at: datetime | None
    duplicate: bool


class AttachmentPublic(BaseModel):
    id: int
    filename: str
    content_type: str
    size_bytes: int
    refused: str | None  # why it was not kept (too large); None: stored


class MessagePublic(BaseModel):
    """One e-mail of a ticket's conversation, in or out."""

    direction: Literal["in", "out"]
    at: datetime
    from_addr: str | None
    to_addr: str | None
    subject: str
    body: str
    message_id: str | None
    sent: bool  # out: the worker has sent it; in: always true
    attachments: list[AttachmentPublic]


class MailLogEntry(BaseModel):
    """One decided message: who sent it, when it came, what was decided and why."""

    id: int
    from_addr: str | None
    from_name: str | None
    subject: str | None
    received_at: datetime
    registered_at: datetime | None
    source: str
    decision: MailDecision
    reasons: list[str]
    uin: str | None
