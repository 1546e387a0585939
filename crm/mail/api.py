"""HTTP routes of the mail intake: a piped message in, a ticket's conversation out."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response, status

from crm.deps import AnyRole, Principal, ServiceRole, StaffRole, require
from crm.errors import TicketNotFound
from crm.mail.schemas import MailLogEntry, MailOutcomePublic, MessagePublic
from crm.mail.service import MailIntake, MailOutcome
from crm.models import MailDecision

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


@router.get("/tickets/{uin}/attachments/{attachment_id}", tags=["mail"], response_class=Response)
async def attachment(uin: str, attachment_id: int, intake: IntakeDep, who: StaffRole) -> Response:
    """A file that came with the ticket's mail; 404 if not there, 410 if it was refused."""
    found = await intake.attachment(uin, attachment_id)
    if found is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no attachment {attachment_id} on {uin}")
    if found.content is None:
        raise HTTPException(status.HTTP_410_GONE, f"{found.filename} was not kept: {found.refused}")
    # RFC 6266/5987: the name may be Cyrillic, HTTP headers are Latin-1.
    disposition = f"attachment; filename*=UTF-8''{quote(found.filename, safe='')}"
    return Response(
        found.content,
        media_type=found.content_type,
        headers={"Content-Disposition": disposition},
    )


@router.get("/mail/inbound", response_model=list[MailLogEntry], tags=["mail"])
async def mail_log(
    intake: IntakeDep,
    who: Annotated[Principal, Depends(require("supervisor"))],
    decision: MailDecision | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[dict[str, object]]:
    """The latest decided messages, newest first (`decision=returned`: the returned log)."""
    return [
        {
            "id": m.id,
            "from_addr": m.from_addr,
            "from_name": m.from_name,
            "subject": m.subject,
            "received_at": m.received_at,
            "registered_at": m.registered_at,
            "source": m.source,
            "decision": m.decision,
            "reasons": list(m.reasons or []),
            "uin": uin,
        }
        for m, uin in await intake.decisions(decision, limit)
    ]
