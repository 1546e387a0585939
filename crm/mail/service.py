"""The mail intake: one raw message in, one decision out, taken once and for good.

IMAP (`crm/mail/imap.py`) and `POST /api/mail/inbound` both call `MailIntake.take`. Each
message is decided in one transaction with its key (Message-ID, or a digest where it has
none) in `inbound_mail`: a message seen again changes nothing and gets the first answer.
- from a robot (auto-reply, bounce, list): kept, never answered, no ticket;
- a reply (`[#UIN]` in the subject, or In-Reply-To/References naming a message of ours or
  of the ticket's conversation): added to that ticket; a ticket waiting for the caller's
  information (`more_information`) runs again, as `caller-replied` does;
- a new request with enough information (`crm/mail/rules.py`): a ticket on channel
  `email`, registered at the next business moment of the calendar, acknowledged by e-mail;
- otherwise: returned to the sender with the reasons, logged, no ticket.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import make_msgid

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.calendar import BusinessCalendar
from crm.lifecycle import audit
from crm.lifecycle.calendar import CalendarStore
from crm.lifecycle.mail import Mail
from crm.lifecycle.service import event, move
from crm.mail import queries, rules, texts
from crm.mail.parse import ParsedMail, parse_mail
from crm.models import (
    Channel,
    InboundMail,
    MailAttachment,
    MailDecision,
    Notification,
    Status,
    Ticket,
    TicketEvent,
)
from crm.schemas import TicketCreate, validate_email
from crm.service import Clock
from crm.tickets.audit import creation_rows
from crm.tickets.uins import allocate_uin

log = logging.getLogger(__name__)

ACTOR = "mail"
MAIL_RECEIVED = "mail_received"  # the audit action of a message added to a conversation
KIND_ACK = "mail_acknowledgement"
KIND_RETURNED = "mail_returned"
KIND_ATTACHMENTS = "mail_attachments_refused"
_SUMMARY_MAX = 500
PARSE_IN_THREAD_BYTES = 256 * 1024
_DESCRIPTION_MAX = 10_000


@dataclass(frozen=True)
class MailOutcome:
    """What was decided about one message (`duplicate`: decided before, nothing changed)."""

    decision: MailDecision
    key: str
    uin: str | None = None
    reasons: list[str] = field(default_factory=list)
    registered_at: datetime | None = None
    duplicate: bool = False


def next_business_moment(calendar: BusinessCalendar, at: datetime) -> datetime:
    """`at` inside working hours, else the start of the next working hour."""
    if calendar.is_open(at):
        return at
    one_us = timedelta(microseconds=1)
    return calendar.add(at, one_us.total_seconds()) - one_us


def _unanswerable(addr: str | None) -> str | None:
    if addr is None:
        return "no sender address to answer"
    try:
        validate_email(addr)
    except ValueError:
        return f"the sender address {addr!r} cannot be answered"
    return None


class MailIntake:
    """Decides inbound e-mail; `clock` gives "now" (tests move it)."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        calendars: CalendarStore,
        *,
        uin_digits: int,
        own_address: str,
        max_attachment_bytes: int,
        clock: Clock,
    ) -> None:
        self._sessions = sessions
        self._calendars = calendars
        self._digits = uin_digits
        self._own = frozenset({own_address.lower()})
        self._domain = own_address.rpartition("@")[2] or None
        self._max_bytes = max_attachment_bytes
        self._clock = clock

    async def take(self, raw: bytes, source: str = "imap") -> MailOutcome:
        """Decide one raw RFC 822 message; the same message again changes nothing."""
        if len(raw) > PARSE_IN_THREAD_BYTES:
            # The standard library's parser takes ~8 s for a 30 MB message: off the loop,
            # so that the calls and the API sharing it (`hotline run`) are not held up.
            mail = await asyncio.to_thread(parse_mail, raw)
        else:
            mail = parse_mail(raw)
        try:
            async with self._sessions.begin() as session:
                seen = await self._seen(session, mail.key)
                if seen is not None:
                    return seen
                outcome = await self._decide(session, mail, source)
        except IntegrityError:
            # Another reader decided the same message at the same moment: its decision holds.
            async with self._sessions() as session:
                seen = await self._seen(session, mail.key)
            if seen is None:
                raise
            return seen
        log.info(
            "mail %s from %s: %s%s%s",
            mail.key,
            mail.from_addr,
            outcome.decision.value,
            f" {outcome.uin}" if outcome.uin else "",
            f" ({', '.join(outcome.reasons)})" if outcome.reasons else "",
        )
        return outcome

    async def conversation(self, uin: str) -> list[dict[str, object]] | None:
        """Ticket `uin`'s mail in and out, oldest first; None if there is no such ticket."""
        return await queries.conversation(self._sessions, uin)

    async def attachment(self, uin: str, attachment_id: int) -> MailAttachment | None:
        """One stored file of ticket `uin`'s mail (None: no such file on that ticket)."""
        return await queries.attachment(self._sessions, uin, attachment_id)

    async def decisions(
        self, decision: MailDecision | None, limit: int
    ) -> list[tuple[InboundMail, str | None]]:
        """The latest decisions (the log of returned and ignored mail: who, when, why)."""
        return await queries.decisions(self._sessions, decision, limit)

    async def _seen(self, session: AsyncSession, key: str) -> MailOutcome | None:
        row = (
            await session.execute(
                select(InboundMail, Ticket.uin)
                .outerjoin(Ticket, Ticket.id == InboundMail.ticket_id)
                .where(InboundMail.key == key)
            )
        ).one_or_none()
        if row is None:
            return None
        mail, uin = row
        return MailOutcome(
            mail.decision, key, uin, list(mail.reasons or []), mail.registered_at, duplicate=True
        )

    async def _decide(self, session: AsyncSession, mail: ParsedMail, source: str) -> MailOutcome:
        now = self._clock()
        robot = rules.automatic(mail, self._own)
        if robot is None:
            robot = _unanswerable(mail.from_addr)
        if robot is not None:
            reasons = [robot]
            await self._record(session, mail, source, now, MailDecision.ignored, reasons=reasons)
            return MailOutcome(MailDecision.ignored, mail.key, reasons=reasons)
        ticket = await self._replied_ticket(session, mail)
        if ticket is not None:
            return await self._reply(session, mail, source, now, ticket)
        sender = await self._sender(session, mail)
        reasons = rules.missing_information(mail, sender)
        if reasons:
            return await self._return(session, mail, source, now, reasons)
        return await self._register(session, mail, source, now, sender)

    async def _replied_ticket(self, session: AsyncSession, mail: ParsedMail) -> Ticket | None:
        uin = rules.uin_in_subject(mail.subject, self._digits)
        ticket_id = None
        if uin is not None:
            ticket_id = await session.scalar(select(Ticket.id).where(Ticket.uin == uin))
        if ticket_id is None and mail.references:
            refs = mail.references[-50:]
            ticket_id = await session.scalar(
                select(Notification.ticket_id)
                .where(Notification.message_id.in_(refs), Notification.ticket_id.is_not(None))
                .limit(1)
            )
            if ticket_id is None:
                ticket_id = await session.scalar(
                    select(InboundMail.ticket_id)
                    .where(InboundMail.message_id.in_(refs), InboundMail.ticket_id.is_not(None))
                    .limit(1)
                )
        if ticket_id is None:
            return None
        query = select(Ticket).where(Ticket.id == ticket_id).with_for_update()
        return (await session.execute(query)).scalar_one()

    async def _sender(self, session: AsyncSession, mail: ParsedMail) -> rules.Sender:
        """The message's own data, gaps filled from the sender's latest ticket."""
        found = rules.sender_from_text(mail)
        if found.name and found.org_name and found.org_inn:
            return found
        earlier = (
            await session.execute(
                select(Ticket.caller_name, Ticket.org_name, Ticket.org_inn)
                .where(Ticket.caller_email == mail.from_addr)
                .order_by(Ticket.id.desc())
                .limit(1)
            )
        ).one_or_none()
        if earlier is None:
            return found
        return rules.Sender(
            found.name or earlier.caller_name,
            found.org_name or earlier.org_name,
            found.org_inn or (None if found.inn_given else earlier.org_inn),
            found.inn_given,
        )

    async def _record(
        self,
        session: AsyncSession,
        mail: ParsedMail,
        source: str,
        now: datetime,
        decision: MailDecision,
        *,
        ticket: Ticket | None = None,
        reasons: list[str] | None = None,
        registered_at: datetime | None = None,
    ) -> tuple[InboundMail, list[tuple[str, int]]]:
        """The message's row (its key makes a second decision fail) and its attachments."""
        row = InboundMail(
            key=mail.key,
            message_id=mail.message_id[:300] if mail.message_id else None,
            from_addr=mail.from_addr[:254] if mail.from_addr else None,
            from_name=mail.from_name[:200] if mail.from_name else None,
            subject=mail.subject[:500],
            body=mail.full_text[:100_000] if decision is not MailDecision.ignored else None,
            sent_at=mail.sent_at,
            received_at=now,
            registered_at=registered_at,
            source=source,
            decision=decision,
            reasons=reasons,
            ticket_id=ticket.id if ticket is not None else None,
            size_bytes=len(mail.raw),
        )
        session.add(row)
        await session.flush()  # the key first: a concurrent repeat fails (or waits) here
        refused = self._attach(session, row, mail) if ticket is not None else []
        return row, refused

    def _attach(
        self, session: AsyncSession, row: InboundMail, mail: ParsedMail
    ) -> list[tuple[str, int]]:
        """Store a ticket's mail's files; those over the limit are listed, not kept."""
        refused: list[tuple[str, int]] = []
        for item in mail.attachments:
            size = len(item.content)
            too_big = size > self._max_bytes
            if too_big:
                refused.append((item.filename, size))
            session.add(
                MailAttachment(
                    mail_id=row.id,
                    filename=item.filename[:300],
                    content_type=item.content_type[:200],
                    size_bytes=size,
                    content=None if too_big else item.content,
                    refused=f"larger than {self._max_bytes} bytes" if too_big else None,
                )
            )
        return refused

    def _outbox(
        self,
        session: AsyncSession,
        ticket: Ticket | None,
        kind: str,
        to_addr: str,
        m: Mail,
        now: datetime,
        in_reply_to: str | None,
        send_at: datetime | None = None,
    ) -> None:
        session.add(
            Notification(
                ticket_id=ticket.id if ticket is not None else None,
                kind=kind,
                to_addr=to_addr,
                subject=m.subject,
                body=m.body,
                created_at=now,
                next_attempt_at=send_at or now,
                message_id=make_msgid(domain=self._domain),
                in_reply_to=in_reply_to[:300] if in_reply_to else None,
            )
        )

    async def _reply(
        self, session: AsyncSession, mail: ParsedMail, source: str, now: datetime, ticket: Ticket
    ) -> MailOutcome:
        row, refused = await self._record(
            session, mail, source, now, MailDecision.reply, ticket=ticket
        )
        data = {"mail_id": row.id, "from": mail.from_addr, "subject": mail.subject[:300]}
        session.add(event(ticket, now, ACTOR, MAIL_RECEIVED, data=data))
        rows = await audit.audit_rows(session, ticket.id)
        if ticket.status is Status.suspended and audit.waiting_for_information(rows):
            note = f"e-mail from {mail.from_addr}: {mail.subject}"[:2000]
            session.add(event(ticket, now, ACTOR, audit.CALLER_REPLIED, data={"note": note}))
            move(session, ticket, Status.in_progress, now, ACTOR, {"via": "caller_replied"})
        else:
            ticket.updated_at = now
        if refused and mail.from_addr:
            m = texts.reply_note_mail(ticket.uin, refused, self._max_bytes)
            self._outbox(session, ticket, KIND_ATTACHMENTS, mail.from_addr, m, now, mail.message_id)
        return MailOutcome(MailDecision.reply, mail.key, ticket.uin)

    async def _return(
        self,
        session: AsyncSession,
        mail: ParsedMail,
        source: str,
        now: datetime,
        reasons: list[str],
    ) -> MailOutcome:
        await self._record(session, mail, source, now, MailDecision.returned, reasons=reasons)
        assert mail.from_addr is not None
        m = texts.returned_mail(mail.subject, reasons)
        self._outbox(session, None, KIND_RETURNED, mail.from_addr, m, now, mail.message_id)
        return MailOutcome(MailDecision.returned, mail.key, reasons=reasons)

    async def _register(
        self,
        session: AsyncSession,
        mail: ParsedMail,
        source: str,
        now: datetime,
        sender: rules.Sender,
    ) -> MailOutcome:
        calendar = await self._calendars.calendar(session)
        at = next_business_moment(calendar, now)
        subject = rules.clean_subject(mail.subject)
        summary = (subject or mail.text.split("\n", 1)[0]).strip()[:_SUMMARY_MAX]
        data = TicketCreate(
            channel=Channel.email,
            caller_name=sender.name,
            org_name=sender.org_name,
            org_inn=sender.org_inn,
            summary=summary,
            description=mail.text[:_DESCRIPTION_MAX] or None,
            caller_email=mail.from_addr,
        )
        fields = data.model_dump()
        # The message's key before its UIN: a repeat decided at the same moment elsewhere
        # fails here, before it draws a UIN that would then be lost.
        mail_row, _ = await self._record(
            session, mail, source, now, MailDecision.registered, registered_at=at
        )
        uin = await allocate_uin(session, self._digits)
        ticket = Ticket(**fields, uin=uin, status=Status.registered, created_at=at, updated_at=at)
        session.add(ticket)
        await session.flush()
        mail_row.ticket_id = ticket.id
        for row in creation_rows(fields, at, ACTOR):
            session.add(TicketEvent(ticket_id=ticket.id, **row))
        refused = self._attach(session, mail_row, mail)
        received = {"mail_id": mail_row.id, "from": mail.from_addr, "subject": mail.subject[:300]}
        session.add(event(ticket, at, ACTOR, MAIL_RECEIVED, data=received))
        assert mail.from_addr is not None
        m = texts.acknowledgement_mail(uin, summary, at, refused, self._max_bytes)
        self._outbox(session, ticket, KIND_ACK, mail.from_addr, m, now, mail.message_id, at)
        return MailOutcome(MailDecision.registered, mail.key, uin, registered_at=at.astimezone(UTC))
