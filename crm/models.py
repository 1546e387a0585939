"""SQL model of the CRM: tickets, calls, and the audit log of every ticket change."""

from __future__ import annotations

import enum
from datetime import UTC, date, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Date,
    DateTime,
    Dialect,
    Enum,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator


def utcnow() -> datetime:
    return datetime.now(UTC)


class UtcDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on every backend (SQLite keeps no offset: it is put back here)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: Hotline stores aware datetimes only")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UtcDateTime}


class Channel(enum.StrEnum):
    phone = "phone"
    email = "email"
    portal = "portal"


class Category(enum.StrEnum):
    consultation = "ZnK"
    incident = "INC"


class Status(enum.StrEnum):
    registered = "registered"
    in_progress = "in_progress"
    suspended = "suspended"
    resolved = "resolved"
    closed = "closed"
    refused = "refused"
    # A UIN given in the IVR to a caller who then named their existing request: the call
    # went to that request (`withdrawn_into`); the UIN is never reused, never counted.
    withdrawn = "withdrawn"


class RefusalReason(enum.StrEnum):
    """Why the contractor refused (closed without solving) a ticket."""

    out_of_scope = "out_of_scope"
    duplicate = "duplicate"
    no_information = "no_information"  # 14 business days without an answer (the worker)


class OverrideKind(enum.StrEnum):
    """A calendar override: an extra day off or an extra working day."""

    holiday = "holiday"
    working_day = "working_day"


class CallOutcome(enum.StrEnum):
    in_progress = "in_progress"
    answered = "answered"
    abandoned = "abandoned"
    out_of_hours = "out_of_hours"
    unanswered = "unanswered"  # left the queue without an agent and without hanging up


def _str_enum(cls: type[enum.StrEnum], name: str) -> Enum:
    # Stored as plain strings with a CHECK constraint: portable across SQLite and PostgreSQL.
    return Enum(
        cls,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=20,
        values_callable=lambda members: [m.value for m in members],
    )


class Ticket(Base):
    __tablename__ = "tickets"

    id: Mapped[int] = mapped_column(primary_key=True)
    uin: Mapped[str] = mapped_column(String(20), unique=True)
    channel: Mapped[Channel] = mapped_column(_str_enum(Channel, "ticket_channel"))
    caller_phone: Mapped[str | None] = mapped_column(String(20), index=True)
    caller_name: Mapped[str | None] = mapped_column(String(200))
    org_name: Mapped[str | None] = mapped_column(String(300))
    org_inn: Mapped[str | None] = mapped_column(String(12), index=True)
    category: Mapped[Category] = mapped_column(_str_enum(Category, "ticket_category"))
    priority: Mapped[int] = mapped_column(Integer)
    status: Mapped[Status] = mapped_column(_str_enum(Status, "ticket_status"), index=True)
    summary: Mapped[str | None] = mapped_column(String(500))
    description: Mapped[str | None] = mapped_column(Text)
    duplicate_of: Mapped[str | None] = mapped_column(String(20), ForeignKey("tickets.uin"))
    # Status withdrawn: the ticket this UIN's call went to instead.
    withdrawn_into: Mapped[str | None] = mapped_column(
        String(20), ForeignKey("tickets.uin", name="fk_tickets_withdrawn_into")
    )
    # The support line working on it (1-3): the worker escalates as the SLA runs down.
    line: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    caller_email: Mapped[str | None] = mapped_column(String(254))
    solution: Mapped[str | None] = mapped_column(Text)
    # Priority 4 only: the deadline agreed with the customer.
    agreed_deadline: Mapped[datetime | None]
    resolved_at: Mapped[datetime | None]
    confirmed_at: Mapped[datetime | None]
    refusal_reason: Mapped[RefusalReason | None] = mapped_column(
        _str_enum(RefusalReason, "refusal_reason")
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    calls: Mapped[list[Call]] = relationship(back_populates="ticket", lazy="raise")
    events: Mapped[list[TicketEvent]] = relationship(
        back_populates="ticket", lazy="raise", order_by="TicketEvent.id"
    )


class Call(Base):
    __tablename__ = "calls"
    # The call log pages newest first by (started_at, id).
    __table_args__ = (Index("ix_calls_started_at_id", "started_at", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    linkedid: Mapped[str] = mapped_column(String(64), unique=True)
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"), index=True)
    caller_number: Mapped[str | None] = mapped_column(String(40), index=True)
    caller_name: Mapped[str | None] = mapped_column(String(200))
    started_at: Mapped[datetime | None]
    queue: Mapped[str | None] = mapped_column(String(80))
    queued_at: Mapped[datetime | None]
    answered_at: Mapped[datetime | None]
    ended_at: Mapped[datetime | None]
    wait_s: Mapped[float | None]
    agent: Mapped[str | None] = mapped_column(String(80))  # who had the caller last
    # Every agent the call reached, in order (a queue's answer, a transfer to an agent).
    agents: Mapped[list[str] | None] = mapped_column(JSON)
    outcome: Mapped[CallOutcome] = mapped_column(
        _str_enum(CallOutcome, "call_outcome"), default=CallOutcome.in_progress
    )
    transfer_count: Mapped[int] = mapped_column(Integer, default=0)
    talk_s: Mapped[float | None]
    hung_up_by: Mapped[str | None] = mapped_column(String(20))
    # The UIN read to the caller, kept until a ticket with it exists (the AGI server may
    # hand out a reserved UIN while the CRM is down and register the ticket later).
    announced_uin: Mapped[str | None] = mapped_column(String(20), index=True)
    # The caller's answers to the survey after the agent left ("was it solved?", 1-5).
    solved: Mapped[bool | None]
    score: Mapped[int | None] = mapped_column(Integer)

    ticket: Mapped[Ticket | None] = relationship(back_populates="calls", lazy="raise")
    entries: Mapped[list[QueueEntry]] = relationship(
        back_populates="call", lazy="raise", order_by="QueueEntry.entry"
    )

    def reached(self, agent: str) -> None:
        """`agent` has the caller now (a queue's answer, a transfer to them): the call's
        agent, and the next in its list of agents (one reached again later is listed
        again)."""
        if not agent:
            return
        agents = list(self.agents or [])
        if not agents or agents[-1] != agent:
            self.agents = [*agents, agent]  # a new list: the JSON column sees the change
        self.agent = agent


class QueueEntryOutcome(enum.StrEnum):
    waiting = "waiting"
    answered = "answered"
    abandoned = "abandoned"


class QueueEntry(Base):
    """One wait of a call in a queue (a call transferred back into a queue has several)."""

    __tablename__ = "queue_entries"
    __table_args__ = (
        UniqueConstraint("call_id", "entry"),
        # Covers the service-level history: a range of joined_at read from the index alone.
        Index(
            "ix_queue_entries_report",
            "joined_at",
            "queue",
            "outcome",
            "wait_s",
            "wait_whole_s",
            "completed_at",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("calls.id"), index=True)
    entry: Mapped[int] = mapped_column(Integer)
    queue: Mapped[str] = mapped_column(String(80), index=True)
    position: Mapped[int | None] = mapped_column(Integer)
    joined_at: Mapped[datetime | None]
    answered_at: Mapped[datetime | None]
    left_at: Mapped[datetime | None]
    wait_s: Mapped[float | None]
    # app_queue's whole-second wait (`HoldTime`): what its ServicelevelPerf/Perf2 count on
    wait_whole_s: Mapped[int | None] = mapped_column(Integer)
    agent: Mapped[str | None] = mapped_column(String(80), index=True)
    # The agent's talk ended (Asterisk's AgentComplete, the `completed` fact): what
    # QueueParams' `Completed` counts, and the history's `completed`.
    completed_at: Mapped[datetime | None]
    outcome: Mapped[QueueEntryOutcome] = mapped_column(
        _str_enum(QueueEntryOutcome, "queue_entry_outcome"), default=QueueEntryOutcome.waiting
    )

    call: Mapped[Call] = relationship(back_populates="entries", lazy="raise")


class RecordedFact(Base):
    """Keys of the call facts already written: a fact delivered twice changes nothing."""

    __tablename__ = "recorded_facts"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)


class TicketEvent(Base):
    """One row per change to a ticket: who, when, what, old and new value."""

    __tablename__ = "ticket_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor: Mapped[str] = mapped_column(String(80))
    action: Mapped[str] = mapped_column(String(40))
    field: Mapped[str | None] = mapped_column(String(40))
    old_value: Mapped[str | None] = mapped_column(Text)
    new_value: Mapped[str | None] = mapped_column(Text)
    data: Mapped[dict[str, Any] | None] = mapped_column(JSON)

    ticket: Mapped[Ticket] = relationship(back_populates="events", lazy="raise")


class UinCounter(Base):
    """SQLite's stand-in for PostgreSQL's `uin_seq`: AUTOINCREMENT never reuses a value."""

    __tablename__ = "uin_counter"
    __table_args__: ClassVar[dict[str, Any]] = {"sqlite_autoincrement": True}

    value: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)


class UinReservation(Base):
    """A UIN handed out in advance (to the AGI server, for when the CRM is unreachable).

    The caller hears it at once; the ticket is created with it later. `used_at` is set when
    that ticket exists; a reserved UIN is never given to anyone else.
    """

    __tablename__ = "uin_reservations"

    uin: Mapped[str] = mapped_column(String(20), primary_key=True)
    reserved_at: Mapped[datetime] = mapped_column(default=utcnow)
    reserved_by: Mapped[str] = mapped_column(String(80))
    used_at: Mapped[datetime | None]


class CallTicket(Base):
    """Every ticket opened in a call (one request, one ticket: a call may raise several)."""

    __tablename__ = "call_tickets"

    call_id: Mapped[int] = mapped_column(ForeignKey("calls.id"), primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), primary_key=True, index=True)
    linked_at: Mapped[datetime] = mapped_column(default=utcnow)


class CalendarOverride(Base):
    """A date whose working status differs from the settings' calendar (decided locally)."""

    __tablename__ = "calendar_overrides"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    kind: Mapped[OverrideKind] = mapped_column(_str_enum(OverrideKind, "override_kind"))
    note: Mapped[str | None] = mapped_column(String(300))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_by: Mapped[str] = mapped_column(String(80))


class Notification(Base):
    """The outbox: a notice to send (or, without `to_addr`, only to show); never deleted.

    The worker sends rows with a recipient and no `sent_at`; a failed send counts an
    attempt, keeps the error and is tried again after `next_attempt_at`.
    """

    __tablename__ = "notifications"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"), index=True)
    kind: Mapped[str] = mapped_column(String(40))
    to_addr: Mapped[str | None] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    next_attempt_at: Mapped[datetime | None]
    # The Message-ID the e-mail is (or will be) sent with: a reply naming it in
    # In-Reply-To/References finds its ticket (crm/mail/). Set when written or when sent.
    message_id: Mapped[str | None] = mapped_column(String(300), index=True)
    in_reply_to: Mapped[str | None] = mapped_column(String(300))  # the mail it answers


class Transfer(Base):
    """One transfer of a call (at most two), however it was made; `n` counts from 1."""

    __tablename__ = "transfers"
    __table_args__ = (UniqueConstraint("call_id", "n"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("calls.id"), index=True)
    n: Mapped[int] = mapped_column(Integer)
    from_agent: Mapped[str | None] = mapped_column(String(80))
    to: Mapped[str] = mapped_column(String(80))
    mode: Mapped[str] = mapped_column(String(20))  # blind | attended
    how: Mapped[str] = mapped_column(String(20))  # api | blind | attended | redirect
    outcome: Mapped[str] = mapped_column(String(20))  # pending | completed
    context: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    context_missing: Mapped[bool] = mapped_column(default=False)
    at: Mapped[datetime] = mapped_column(default=utcnow)


class CallContext(Base):
    """The CRM's copy of a call's transfer context (Redis holds the live one)."""

    __tablename__ = "call_contexts"

    linkedid: Mapped[str] = mapped_column(String(64), primary_key=True)
    uin: Mapped[str | None] = mapped_column(String(20))
    ticket_id: Mapped[int | None] = mapped_column(Integer)
    caller_full_name: Mapped[str | None] = mapped_column(String(200))
    org_inn: Mapped[str | None] = mapped_column(String(12))
    summary: Mapped[str | None] = mapped_column(Text)
    transfer_count: Mapped[int] = mapped_column(Integer, default=0)
    # tries turned down at the limit (by the AGI route `transfer` or the API)
    transfers_refused: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    chain: Mapped[list[Any] | None] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class MailDecision(enum.StrEnum):
    """What the mail intake decided about one inbound message (once, for good)."""

    registered = "registered"  # a new request: a ticket on channel email
    reply = "reply"  # added to an existing ticket's conversation
    returned = "returned"  # not enough information: sent back with the reasons, no ticket
    ignored = "ignored"  # an auto-reply, a bounce, a list, or no sender to answer


class InboundMail(Base):
    """One inbound e-mail, decided once: its key is the Message-ID (or a digest of it all).

    Kept with its text for the ticket's conversation and as the log of returned mail
    (who, when, why: `reasons`).
    """

    __tablename__ = "inbound_mail"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(300), unique=True)
    message_id: Mapped[str | None] = mapped_column(String(300))
    from_addr: Mapped[str | None] = mapped_column(String(254), index=True)
    from_name: Mapped[str | None] = mapped_column(String(200))
    subject: Mapped[str | None] = mapped_column(String(500))
    body: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[datetime | None]  # its Date header
    received_at: Mapped[datetime]  # when the intake took it
    registered_at: Mapped[datetime | None]  # the business moment a new request counts from
    source: Mapped[str] = mapped_column(String(20))  # imap | http
    decision: Mapped[MailDecision] = mapped_column(_str_enum(MailDecision, "mail_decision"))
    reasons: Mapped[list[Any] | None] = mapped_column(JSON)
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"), index=True)
    size_bytes: Mapped[int] = mapped_column(Integer, default=0)


class MailAttachment(Base):
    """A file that came with an inbound e-mail; one over the limit is listed, not kept."""

    __tablename__ = "mail_attachments"

    id: Mapped[int] = mapped_column(primary_key=True)
    mail_id: Mapped[int] = mapped_column(ForeignKey("inbound_mail.id"), index=True)
    filename: Mapped[str] = mapped_column(String(300))
    content_type: Mapped[str] = mapped_column(String(200))
    size_bytes: Mapped[int] = mapped_column(Integer)
    content: Mapped[bytes | None] = mapped_column(LargeBinary)  # None: refused (too large)
    refused: Mapped[str | None] = mapped_column(String(300))  # why it was not kept


class AgentSession(Base):
    """One agent's time as a member of one queue (`QueueMemberAdded` to `...Removed`),
    named by app_queue's `LoginTime`. `ended_by`: `removed` (the event), `replaced` (a
    later session of the same member began: the removal was not seen), `resync` (a resync
    found the member gone: the end is an upper bound, the resync's moment)."""

    __tablename__ = "agent_sessions"
    __table_args__ = (
        UniqueConstraint("agent", "queue", "login_at"),
        Index("ix_agent_sessions_span", "login_at", "logout_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    agent: Mapped[str] = mapped_column(String(80), index=True)
    queue: Mapped[str] = mapped_column(String(80))
    login_at: Mapped[datetime]
    logout_at: Mapped[datetime | None]
    ended_by: Mapped[str | None] = mapped_column(String(20))


class AgentPause(Base):
    """One pause of an agent in one queue, with app_queue's `PausedReason`; `ended_by`
    as on `AgentSession` (`unpaused`, `logged_out`, `replaced`, `resync`)."""

    __tablename__ = "agent_pauses"
    __table_args__ = (Index("ix_agent_pauses_span", "paused_at", "unpaused_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    agent: Mapped[str] = mapped_column(String(80), index=True)
    queue: Mapped[str] = mapped_column(String(80))
    reason: Mapped[str] = mapped_column(String(80), default="")
    paused_at: Mapped[datetime]
    unpaused_at: Mapped[datetime | None]
    ended_by: Mapped[str | None] = mapped_column(String(20))


class AgentRing(Base):
    """An agent's phone rang for a caller (`kind` `rang`: the `ringing` fact) or rang out
    unanswered (`no_answer`: `AgentRingNoAnswer`)."""

    __tablename__ = "agent_rings"
    __table_args__ = (Index("ix_agent_rings_at", "at", "agent"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    agent: Mapped[str] = mapped_column(String(80))
    queue: Mapped[str] = mapped_column(String(80))
    linkedid: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(20))
    at: Mapped[datetime]


class SlRollup(Base):
    """The service-level history's counts per quarter hour of UTC time (`bucket` = epoch
    seconds // 900), queue and (T, S): `crm.supervisor.rollup`. `counts` in the order of
    `crm.supervisor.history_sql.count_columns`."""

    __tablename__ = "sl_rollup"

    bucket: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    queue: Mapped[str] = mapped_column(String(80), primary_key=True)
    threshold_s: Mapped[int] = mapped_column(Integer, primary_key=True)
    short_abandon_s: Mapped[int] = mapped_column(Integer, primary_key=True)
    counts: Mapped[list[Any]] = mapped_column(JSON)


class SlRollupDone(Base):
    """The quarter hours whose `sl_rollup` rows are counted for (T, S) (none: no entries)."""

    __tablename__ = "sl_rollup_done"

    bucket: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    threshold_s: Mapped[int] = mapped_column(Integer, primary_key=True)
    short_abandon_s: Mapped[int] = mapped_column(Integer, primary_key=True)


class SlDirty(Base):
    """A quarter hour whose queue entries the recorder changed since it was counted."""

    __tablename__ = "sl_dirty"

    id: Mapped[int] = mapped_column(primary_key=True)
    bucket: Mapped[int] = mapped_column(BigInteger, index=True)


# The people's table lives in its own slice; importing it here puts it in Base.metadata
# wherever the CRM's models are loaded (migrations, tests).
import crm.people.models  # noqa: E402, F401
