"""Reading the mail intake's records: a ticket's conversation, its files, the decision log."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from crm.models import InboundMail, MailAttachment, MailDecision, Notification, Ticket


async def attachment(
    sessions: async_sessionmaker[AsyncSession], uin: str, attachment_id: int
) -> MailAttachment | None:
    async with sessions() as session:
        query = (
            select(MailAttachment)
            .join(InboundMail, InboundMail.id == MailAttachment.mail_id)
            .join(Ticket, Ticket.id == InboundMail.ticket_id)
            .where(Ticket.uin == uin, MailAttachment.id == attachment_id)
        )
        return (await session.execute(query)).scalar_one_or_none()


async def decisions(
    sessions: async_sessionmaker[AsyncSession], decision: MailDecision | None, limit: int
) -> list[tuple[InboundMail, str | None]]:
    async with sessions() as session:
        query = (
            select(InboundMail, Ticket.uin)
            .outerjoin(Ticket, Ticket.id == InboundMail.ticket_id)
            .order_by(InboundMail.id.desc())
            .limit(limit)
        )
        if decision is not None:
            query = query.where(InboundMail.decision == decision)
        return [(row[0], row[1]) for row in (await session.execute(query)).all()]


async def conversation(
    sessions: async_sessionmaker[AsyncSession], uin: str
) -> list[dict[str, object]] | None:
    """A ticket's mail in and out, oldest first; None if there is no such ticket."""
    async with sessions() as session:
        ticket_id = await session.scalar(select(Ticket.id).where(Ticket.uin == uin))
        if ticket_id is None:
            return None
        inbound = (
            (
                await session.execute(
                    select(InboundMail)
                    .where(InboundMail.ticket_id == ticket_id)
                    .order_by(InboundMail.id)
                )
            )
            .scalars()
            .all()
        )
        files: dict[int, list[MailAttachment]] = {m.id: [] for m in inbound}
        if files:
            for item in (
                await session.execute(
                    select(MailAttachment)
                    .where(MailAttachment.mail_id.in_(list(files)))
                    .order_by(MailAttachment.id)
                )
            ).scalars():
                files[item.mail_id].append(item)
        outbound = (
            (
                await session.execute(
                    select(Notification)
                    .where(
                        Notification.ticket_id == ticket_id,
                        Notification.to_addr.is_not(None),
                    )
                    .order_by(Notification.id)
                )
            )
            .scalars()
            .all()
        )
    items: list[dict[str, object]] = [
        {
            "direction": "in",
            "at": m.received_at,
            "from_addr": m.from_addr,
            "to_addr": None,
            "subject": m.subject or "",
            "body": m.body or "",
            "message_id": m.message_id,
            "sent": True,
            "attachments": [
                {
                    "id": a.id,
                    "filename": a.filename,
                    "content_type": a.content_type,
                    "size_bytes": a.size_bytes,
                    "refused": a.refused,
                }
                for a in files[m.id]
            ],
        }
        for m in inbound
    ]
    items += [
        {
            "direction": "out",
            "at": n.created_at,
            "from_addr": None,
            "to_addr": n.to_addr,
            "subject": n.subject,
            "body": n.body,
            "message_id": n.message_id,
            "sent": n.sent_at is not None,
            "attachments": [],
        }
        for n in outbound
    ]
    items.sort(key=lambda item: (item["at"], 0 if item["direction"] == "in" else 1))  # type: ignore[arg-type,return-value]
    return items
