"""What the CRM does: register tickets with UINs, change them under the rules, record calls.

Every change to a ticket writes its audit rows (`TicketEvent`) in the same transaction.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, func, insert, or_, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from crm.errors import (
    CallNotFound,
    CallOnAnotherTicket,
    TicketNotFound,
    UinNotReserved,
    UinSpaceExhausted,
)
from crm.models import (
    Call,
    CallTicket,
    Category,
    Status,
    Ticket,
    TicketEvent,
    UinCounter,
    UinReservation,
    utcnow,
)
from crm.rules import LIFECYCLE_ENDPOINTS, check_classification, check_transition
from crm.schemas import CallAttach, TicketCreate, TicketPublic, TicketUpdate
from crm.validation import normalise_phone

# Built once: the same statement object every time lets SQLAlchemy reuse its compiled form.
_INSERT_TICKET = insert(Ticket.__table__).returning(*Ticket.__table__.c)
_INSERT_EVENT = insert(TicketEvent.__table__)
_USE_RESERVATION = (
    update(UinReservation.__table__)
    .where(UinReservation.__table__.c.uin == bindparam("reserved_uin"))
    .where(UinReservation.__table__.c.used_at.is_(None))
    .values(used_at=bindparam("used_now"))
)
_TICKET_COLUMNS = [c.name for c in Ticket.__table__.c if c.name not in ("id", "uin")]
_TICKET_DEFAULTS = {
    c.name: (c.default.arg if c.default is not None and c.default.is_scalar else None)
    for c in Ticket.__table__.c
    if c.name not in ("id", "uin")
}
_REGISTER_PG = text(
    "WITH n AS (SELECT nextval('uin_seq') AS v), "
    "t AS (INSERT INTO tickets (uin, " + ", ".join(_TICKET_COLUMNS) + ") "
    "SELECT lpad(v::text, :digits, '0'), "
    + ", ".join(f":{c}" for c in _TICKET_COLUMNS)
    + " FROM n WHERE v < :uin_limit RETURNING *), "
    "e AS (INSERT INTO ticket_events (ticket_id, at, actor, action, data) "
    "SELECT id, :created_at, :actor, 'created', CAST(:data AS JSON) FROM t) "
    "SELECT * FROM t"
)
# The same for a reserved UIN: claimed (used_at set) only if not used yet; a concurrent
# claim of the same UIN waits for this one's commit and then finds nothing to claim.
_REGISTER_RESERVED_PG = text(
    "WITH r AS (UPDATE uin_reservations SET used_at = :created_at "
    "WHERE uin = :uin AND used_at IS NULL RETURNING uin), "
    "t AS (INSERT INTO tickets (uin, " + ", ".join(_TICKET_COLUMNS) + ") "
    "SELECT r.uin, " + ", ".join(f":{c}" for c in _TICKET_COLUMNS) + " FROM r RETURNING *), "
    "e AS (INSERT INTO ticket_events (ticket_id, at, actor, action, data) "
    "SELECT id, :created_at, :actor, 'created', CAST(:data AS JSON) FROM t) "
    "SELECT * FROM t"
)


class InvalidField(ValueError):
    """A field whose value the CRM refuses; the API answers 422 naming `field`."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


# Where "now" comes from: tests inject a fake clock to control SLA time.
Clock = Callable[[], datetime]


@dataclass(frozen=True)
class TicketFilter:
    phone: str | None = None
    status: Status | None = None
    category: Category | None = None
    text: str | None = None


async def allocate_uin(session: AsyncSession, digits: int) -> str:
    """Next UIN from the database's sequence, zero-padded to `digits`; never reused."""
    if session.bind.dialect.name == "postgresql":
        value = (await session.execute(text("SELECT nextval('uin_seq')"))).scalar_one()
    else:
        result = await session.execute(insert(UinCounter).returning(UinCounter.value))
        value = result.scalar_one()
    if value >= 10**digits:
        raise UinSpaceExhausted(digits)
    return str(value).zfill(digits)


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value.value if hasattr(value, "value") else value)


def _audit(
    ticket: Ticket,
    actor: str,
    action: str,
    field: str | None = None,
    old: Any = None,
    new: Any = None,
    data: dict[str, Any] | None = None,
    *,
    at: datetime,
) -> TicketEvent:
    return TicketEvent(
        ticket=ticket,
        at=at,
        actor=actor,
        action=action,
        field=field,
        old_value=_text(old),
        new_value=_text(new),
        data=data,
    )


def _check_agreed_deadline(priority: int, deadline: datetime | None, now: datetime) -> None:
    if deadline is None:
        return
    if priority != 4:
        raise InvalidField(
            "agreed_deadline",
            f"only priority 4 has a deadline by agreement; this ticket is priority {priority}",
        )
    if deadline <= now:
        raise InvalidField(
            "agreed_deadline", f"the agreed deadline {deadline} is not in the future"
        )


class TicketService:
    """Tickets and calls over one session factory; each method is one transaction."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        uin_digits: int = 8,
        phone_region: str = "RU",
        clock: Clock = utcnow,
    ) -> None:
        self._sessions = sessions
        self.clock = clock
        self._uin_digits = uin_digits
        self.phone_region = phone_region
        self._engine = sessions.kw["bind"]
        self._is_postgres = self._engine.dialect.name == "postgresql"

    def _phone(self, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        try:
            return normalise_phone(value, self.phone_region)
        except ValueError as exc:
            raise InvalidField("caller_phone", str(exc)) from None

    async def reserve_uins(self, count: int, actor: str) -> list[str]:
        """Draw `count` UINs now for tickets to be created later with `register_ticket(uin=)`."""
        async with self._sessions.begin() as session:
            uins = [await allocate_uin(session, self._uin_digits) for _ in range(count)]
            await session.execute(
                insert(UinReservation), [{"uin": u, "reserved_by": actor} for u in uins]
            )
        return uins

    async def register_ticket(self, data: TicketCreate, actor: str) -> TicketPublic:
        """Register a ticket with a fresh UIN."""
        ticket, _created = await self._register(data, actor, None)
        return ticket

    async def register_reserved(
        self, data: TicketCreate, actor: str, uin: str
    ) -> tuple[TicketPublic, bool]:
        """Register the ticket of a reserved `uin`; returns (ticket, created).

        If the ticket exists already (a retry after a lost reply), it comes back with
        created=False: registering the same reserved UIN twice never makes two tickets.
        """
        return await self._register(data, actor, uin)

    async def register_in_call(self, data: TicketCreate, actor: str, linkedid: str) -> TicketPublic:
        """Register a ticket for a new question raised in call `linkedid`, linked to it.

        One request, one ticket: the call keeps its first ticket and links every other.
        """
        ticket, _created = await self._register(data, actor, None, linkedid)
        return ticket

    async def _register(
        self, data: TicketCreate, actor: str, uin: str | None, linkedid: str | None = None
    ) -> tuple[TicketPublic, bool]:
        """One INSERT each for the ticket and its audit row.

        Written with Core statements rather than the unit of work: this is the hot path of
        every answered call, and the ORM's bookkeeping cost more than the database here.
        """
        check_classification(data.category, data.priority)
        now = self.clock()
        _check_agreed_deadline(data.priority, data.agreed_deadline, now)
        fields = data.model_dump()
        fields["caller_phone"] = self._phone(data.caller_phone)
        if linkedid is None and data.agreed_deadline is None and self._is_postgres:
            ticket = await self._register_pg(fields, actor, now, uin)
            if ticket is not None:
                return ticket, True
            # a reserved UIN already used (a retry), or never reserved: the general path says
        try:
            return await self._insert(data, fields, actor, now, uin, linkedid)
        except IntegrityError:
            if uin is None:
                raise
            # The same reserved UIN registered at the same moment by a retry (SQLite has no
            # row lock to make one wait): the one that won is this UIN's ticket.
            async with self._sessions() as session:
                existing = (
                    await session.execute(select(Ticket).where(Ticket.uin == uin))
                ).scalar_one_or_none()
            if existing is None:
                raise
            return TicketPublic.model_validate(existing), False

    async def _insert(
        self,
        data: TicketCreate,
        fields: dict[str, Any],
        actor: str,
        now: datetime,
        uin: str | None,
        linkedid: str | None,
    ) -> tuple[TicketPublic, bool]:
        async with self._sessions.begin() as session:
            call = None
            if linkedid is not None:
                call = (
                    await session.execute(
                        select(Call).where(Call.linkedid == linkedid).with_for_update()
                    )
                ).scalar_one_or_none()
                if call is None:
                    raise CallNotFound(linkedid)
            if uin is None:
                uin = await allocate_uin(session, self._uin_digits)
            else:
                # One statement claims the reservation (and, on PostgreSQL, makes a second
                # registration of the same UIN wait for this one's commit).
                claimed = await session.execute(
                    _USE_RESERVATION, {"reserved_uin": uin, "used_now": now}
                )
                if claimed.rowcount != 1:
                    reserved = await session.scalar(
                        select(UinReservation.uin).where(UinReservation.uin == uin)
                    )
                    if reserved is None:
                        raise UinNotReserved(uin)
                    existing = await self._load(session, uin)
                    return TicketPublic.model_validate(existing), False
            row = (
                await session.execute(
                    _INSERT_TICKET,
                    {
                        **fields,
                        "uin": uin,
                        "status": Status.registered,
                        "created_at": now,
                        "updated_at": now,
                    },
                )
            ).one()
            await session.execute(
                _INSERT_EVENT,
                {
                    "ticket_id": row.id,
                    "at": now,
                    "actor": actor,
                    "action": "created",
                    "field": None,
                    "old_value": None,
                    "new_value": None,
                    "data": {
                        k: (v.value if hasattr(v, "value") else v)
                        for k, v in fields.items()
                        if v is not None and k != "agreed_deadline"
                    },
                },
            )
            if data.agreed_deadline is not None:
                # The SLA clock reads an agreed deadline from its own `changed` row.
                await session.execute(
                    insert(TicketEvent).values(
                        ticket_id=row.id,
                        at=now,
                        actor=actor,
                        action="changed",
                        field="agreed_deadline",
                        new_value=data.agreed_deadline.isoformat(),
                    )
                )
            if call is not None:
                await self._link_call(session, call, row.id, actor, now)
        return TicketPublic.model_validate(row), True

    async def _register_pg(
        self, fields: dict[str, Any], actor: str, now: datetime, uin: str | None
    ) -> TicketPublic | None:
        """The common cases on PostgreSQL in one statement, one round trip, no BEGIN.

        Drawing the UIN (or claiming the reserved `uin`), inserting the ticket and its audit
        row is one `WITH` statement: atomic on its own, and several times cheaper than five
        round trips. None: the reserved `uin` was not there to claim.
        """
        values = {
            **_TICKET_DEFAULTS,
            **{k: getattr(v, "value", v) for k, v in fields.items()},
            "status": Status.registered.value,
            "created_at": now,
            "updated_at": now,
            "digits": self._uin_digits,
            "uin_limit": 10**self._uin_digits,
            "actor": actor,
            "data": json.dumps(
                {
                    k: getattr(v, "value", v)
                    for k, v in fields.items()
                    if v is not None and k != "agreed_deadline"
                },
                ensure_ascii=False,
            ),
        }
        if uin is not None:
            values["uin"] = uin
        async with self._engine.connect() as conn:
            statement = _REGISTER_PG if uin is None else _REGISTER_RESERVED_PG
            row = (await conn.execute(statement, values)).mappings().one_or_none()
            await conn.commit()
        if row is None:
            if uin is not None:
                return None
            raise UinSpaceExhausted(self._uin_digits)
        return TicketPublic.model_validate(dict(row))

    async def _link_call(
        self, session: AsyncSession, call: Call, ticket_id: int, actor: str, now: datetime
    ) -> None:
        if call.ticket_id is None:
            call.ticket_id = ticket_id
        session.add(CallTicket(call_id=call.id, ticket_id=ticket_id, linked_at=now))
        await session.execute(
            insert(TicketEvent).values(
                ticket_id=ticket_id,
                at=now,
                actor=actor,
                action="call_attached",
                field="call",
                new_value=call.linkedid,
            )
        )

    async def get_ticket(self, uin: str) -> Ticket:
        async with self._sessions() as session:
            return await self._load(session, uin)

    async def _load(self, session: AsyncSession, uin: str, *, lock: bool = False) -> Ticket:
        query = select(Ticket).where(Ticket.uin == uin)
        if lock:
            query = query.with_for_update()
        ticket = (await session.execute(query)).scalar_one_or_none()
        if ticket is None:
            raise TicketNotFound(uin)
        return ticket

    async def list_tickets(
        self, filters: TicketFilter, page: int, page_size: int
    ) -> tuple[Sequence[Ticket], int]:
        query = select(Ticket)
        if filters.phone:
            query = query.where(Ticket.caller_phone == self._phone(filters.phone))
        if filters.status:
            query = query.where(Ticket.status == filters.status)
        if filters.category:
            query = query.where(Ticket.category == filters.category)
        if filters.text:
            pattern = f"%{filters.text}%"
            query = query.where(
                or_(
                    Ticket.uin == filters.text,
                    Ticket.summary.ilike(pattern),
                    Ticket.description.ilike(pattern),
                    Ticket.caller_name.ilike(pattern),
                    Ticket.org_name.ilike(pattern),
                    Ticket.org_inn == filters.text,
                )
            )
        async with self._sessions() as session:
            total = (
                await session.execute(select(func.count()).select_from(query.subquery()))
            ).scalar_one()
            rows = (
                (
                    await session.execute(
                        query.order_by(Ticket.id.desc())
                        .offset((page - 1) * page_size)
                        .limit(page_size)
                    )
                )
                .scalars()
                .all()
            )
        return rows, total

    async def update_ticket(self, uin: str, data: TicketUpdate, actor: str) -> Ticket:
        changes = data.model_dump(exclude_unset=True)
        if "caller_phone" in changes:
            changes["caller_phone"] = self._phone(changes["caller_phone"])
        new_status = changes.get("status")
        if new_status in LIFECYCLE_ENDPOINTS:
            raise InvalidField(
                "status",
                f"a ticket becomes {new_status.value} through "
                f"POST /api/tickets/{uin}/{LIFECYCLE_ENDPOINTS[new_status]}, not PATCH",
            )
        now = self.clock()
        async with self._sessions.begin() as session:
            ticket = await self._load(session, uin, lock=True)
            if "status" in changes and changes["status"] is not None:
                check_transition(ticket.status, changes["status"])
            category = changes.get("category") or ticket.category
            priority = changes.get("priority") or ticket.priority
            if "category" in changes or "priority" in changes:
                check_classification(category, priority)
            if changes.get("agreed_deadline") is not None:
                _check_agreed_deadline(priority, changes["agreed_deadline"], now)
            if changes.get("duplicate_of") is not None:
                if changes["duplicate_of"] == uin:
                    raise InvalidField("duplicate_of", "a ticket cannot duplicate itself")
                await self._load(session, changes["duplicate_of"])
            for field, new in changes.items():
                if new is None and field in ("category", "priority", "status"):
                    continue
                old = getattr(ticket, field)
                if old == new:
                    continue
                setattr(ticket, field, new)
                ticket.updated_at = now
                session.add(
                    _audit(
                        ticket,
                        actor,
                        "status_changed" if field == "status" else "changed",
                        field,
                        old,
                        new,
                        at=now,
                    )
                )
                if field == "status" and new is Status.closed:
                    # Closed by staff "in agreement with the user": that is the confirmation.
                    ticket.confirmed_at = now
        return ticket

    async def attach_call(self, uin: str, data: CallAttach, actor: str) -> tuple[Call, bool]:
        """Record call `data.linkedid` on ticket `uin`; returns (call, created)."""
        now = self.clock()
        try:
            async with self._sessions.begin() as session:
                ticket = await self._load(session, uin)
                call = (
                    await session.execute(
                        select(Call).where(Call.linkedid == data.linkedid).with_for_update()
                    )
                ).scalar_one_or_none()
                created = call is None
                if call is None:
                    call = Call(linkedid=data.linkedid)
                    session.add(call)
                elif call.ticket_id not in (None, ticket.id):
                    other = await session.get(Ticket, call.ticket_id)
                    raise CallOnAnotherTicket(data.linkedid, other.uin if other else "?")
                newly_attached = call.ticket_id != ticket.id
                call.ticket_id = ticket.id
                if newly_attached:
                    await session.flush()  # the call needs its id for the link row
                    session.add(CallTicket(call_id=call.id, ticket_id=ticket.id, linked_at=now))
                for field, value in data.model_dump(exclude_unset=True).items():
                    if field != "linkedid" and value is not None:
                        setattr(call, field, value)
                if newly_attached:
                    session.add(
                        _audit(ticket, actor, "call_attached", "call", None, data.linkedid, at=now)
                    )
        except IntegrityError:
            # Two attaches of the same new call raced: the other one won; read its result.
            call, _uin = await self.get_call(data.linkedid)
            return call, False
        return call, created

    async def call_uins(self, call: Call) -> list[str]:
        """UINs of every ticket opened in the call, in order of registration.

        The call's own `ticket_id` counts too: the recorder sets it without a link row.
        """
        linked = select(CallTicket.ticket_id).where(CallTicket.call_id == call.id)
        async with self._sessions() as session:
            result = await session.execute(
                select(Ticket.uin)
                .where(or_(Ticket.id == call.ticket_id, Ticket.id.in_(linked)))
                .order_by(Ticket.id)
            )
            return list(result.scalars())

    async def get_call(self, linkedid: str) -> tuple[Call, str | None]:
        """The call and the UIN of its ticket (None while it has none)."""
        async with self._sessions() as session:
            row = (
                await session.execute(
                    select(Call, Ticket.uin)
                    .outerjoin(Ticket, Call.ticket_id == Ticket.id)
                    .where(Call.linkedid == linkedid)
                )
            ).one_or_none()
        if row is None:
            raise CallNotFound(linkedid)
        call, uin = row
        return call, uin

    async def ticket_events(self, uin: str) -> Sequence[TicketEvent]:
        async with self._sessions() as session:
            ticket = await self._load(session, uin)
            return (
                (
                    await session.execute(
                        select(TicketEvent)
                        .where(TicketEvent.ticket_id == ticket.id)
                        .order_by(TicketEvent.id)
                    )
                )
                .scalars()
                .all()
            )
