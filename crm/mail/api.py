"""HTTP routes of the mail intake: a piped message in, a ticket's conversation out."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request, status

from crm.deps import AnyRole, ServiceRole
from crm.errors import TicketNotFound
from crm.mail.schemas import MailOutcomePublic, MessagePublic
from crm.mail.service import MailIntake, MailOutcome

# A piped message larger than this is refused outright (its attachments would be anyway).
MAX_BODY_BYTES = 128 * 1024 * 1024


async def get_intake(request: Request) -> MailIntake:
    return request.app.state.mail_intake


IntakeDep = Annotated[MailIntake, Depends(get_intake)]
router = APIRouter(prefix="/api")


@router.post("/mail/inbound", response_model=MailOutcomePublic, tags=["mail"])
async def inbound(request: Request, intake: IntakeDep, who: ServiceRole) -> MailOutcome:
    """One raw RFC 822 message as the body (for a mail server that pipes mail to a program).

    The same decision as the IMAP reader's: a message seen before changes nothing and
    gets its first answer with `duplicate: true`.
    """
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise HTTPException(
                status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
                f"a message is at most {MAX_BODY_BYTES} bytes",
            )
        chunks.append(chunk)
    raw = b"".join(chunks)
    if not raw.strip():
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT, "the body must be one raw RFC 822 message"
        )
    if b":" not in raw.split(b"\n", 1)[0]:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            "the body does not start with a header line: not an RFC 822 message",
        )
    return await intake.take(raw, source="http")


@router.get("/tickets/{uin}/messages", response_model=list[MessagePublic], tags=["mail"])
async def messages(uin: str, intake: IntakeDep, who: AnyRole) -> list[dict[str, object]]:
    """The ticket's e-mail conversation (in and out), oldest first."""
    found = await intake.conversation(uin)
    if found is None:
        raise TicketNotFound(uin)
    return found
