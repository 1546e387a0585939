"""Registering a ticket: with a fresh or a reserved UIN, on its own or in a call.

One route per backend, whatever the case: on PostgreSQL one statement (claim or draw the
UIN, insert the ticket, its audit rows and its link to the call) in one round trip and no
BEGIN; on SQLite one short transaction of the same steps. A route that registers nothing
hands over to one explanation, shared by both, that answers as the case requires.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import TextClause, insert, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from crm.errors import CallNotFound, UinNotReserved, UinSpaceExhausted
from crm.models import Call, CallTicket, Status, Ticket, TicketEvent
from crm.rules import check_classification
from crm.schemas import TicketCreate, TicketPublic
from crm.tickets.audit import AuditRow, creation_rows
from crm.tickets.checks import check_agreed_deadline, normalised_phone
from crm.tickets.queries import load_ticket
from crm.tickets.uins import allocate_uin, claim_reservation, is_reserved


@dataclass(frozen=True)
class Registration:
    """One ticket to register: its fields, who and when, where its UIN comes from, its call."""

    fields: dict[str, Any]  # the ticket's columns as given, the phone normalised
    actor: str
    now: datetime
    reserved_uin: str | None = None  # None: a fresh UIN from the sequence
    linkedid: str | None = None  # the call it is opened in, linked to it

    @property
    def audit_rows(self) -> list[AuditRow]:
        return creation_rows(self.fields, self.now, self.actor, self.linkedid)


def registration_of(
    data: TicketCreate,
    actor: str,
    clock: Callable[[], datetime],
    phone_region: str,
    *,
    reserved_uin: str | None = None,
    linkedid: str | None = None,
) -> Registration:
    """The checked registration of `data`; the rules' and the fields' errors come from here."""
    check_classification(data.category, data.priority)
    now = clock()
    check_agreed_deadline(data.priority, data.agreed_deadline, now)
    fields = data.model_dump()
    fields["caller_phone"] = normalised_phone(data.caller_phone, phone_region)
    return Registration(fields, actor, now, reserved_uin, linkedid)


class Registrar:
    """Writes registrations to one database, by that database's route."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], uin_digits: int) -> None:
        self._sessions = sessions
        self._engine = sessions.kw["bind"]
        self._uin_digits = uin_digits
        postgres = self._engine.dialect.name == "postgresql"
        self._write = self._write_postgres if postgres else self._write_sqlite

    async def register(self, registration: Registration) -> tuple[TicketPublic, bool]:
        """The ticket and whether it was created now.

        False: the reserved UIN's ticket existed already (a retry after a lost reply), and
        that ticket comes back; registering one reserved UIN twice never makes two tickets.
        """
        try:
            row = await self._write(registration)
        except IntegrityError:
            if registration.reserved_uin is None:
                raise
            # The same reserved UIN registered at the same moment by a retry (SQLite has no
            # row lock to make one wait): the one that won is this UIN's ticket.
            async with self._sessions() as session:
                existing = await session.scalar(
                    select(Ticket).where(Ticket.uin == registration.reserved_uin)
                )
            if existing is None:
                raise
            return TicketPublic.model_validate(existing), False
        if row is None:
            return await self._registered_before(registration)
        return TicketPublic.model_validate(dict(row)), True

    async def _registered_before(self, registration: Registration) -> tuple[TicketPublic, bool]:
        """Nothing was written: the reserved UIN's ticket, or the error that says why not."""
        async with self._sessions() as session:
            if registration.linkedid is not None:
                call_id = await session.scalar(
                    select(Call.id).where(Call.linkedid == registration.linkedid)
                )
                if call_id is None:
                    raise CallNotFound(registration.linkedid)
            uin = registration.reserved_uin
            if uin is None:
                raise UinSpaceExhausted(self._uin_digits)
            if not await is_reserved(session, uin):
                raise UinNotReserved(uin)
            existing = await load_ticket(session, uin)
        return TicketPublic.model_validate(existing), False

    async def _write_postgres(self, registration: Registration) -> Mapping[str, Any] | None:
        """The whole registration as one statement: atomic on its own, one round trip."""
        values: dict[str, Any] = {
            **_TICKET_DEFAULTS,
            **{name: getattr(value, "value", value) for name, value in registration.fields.items()},
            "status": Status.registered.value,
            "created_at": registration.now,
            "updated_at": registration.now,
            "events": json.dumps(registration.audit_rows, ensure_ascii=False, default=_iso),
        }
        if registration.reserved_uin is None:
            values["digits"] = self._uin_digits
            values["uin_limit"] = 10**self._uin_digits
        else:
            values["uin"] = registration.reserved_uin
        if registration.linkedid is not None:
            values["linkedid"] = registration.linkedid
        statement = _postgres_statement(
            reserved=registration.reserved_uin is not None,
            in_call=registration.linkedid is not None,
        )
        async with self._engine.connect() as conn:
            row = (await conn.execute(statement, values)).mappings().one_or_none()
            await conn.commit()
        return row

    async def _write_sqlite(self, r: Registration) -> Mapping[str, Any] | None:
        """The same steps in one short transaction (SQLite has one writer at a time)."""
        async with self._sessions.begin() as session:
            call_id = None
            if r.linkedid is not None:
                call_id = await session.scalar(select(Call.id).where(Call.linkedid == r.linkedid))
                if call_id is None:
                    return None
            if r.reserved_uin is None:
                uin = await allocate_uin(session, self._uin_digits)
            elif await claim_reservation(session, r.reserved_uin, r.now):
                uin = r.reserved_uin
            else:
                return None
            ticket = {**r.fields, "uin": uin, "status": Status.registered}
            ticket |= {"created_at": r.now, "updated_at": r.now}
            row = (await session.execute(_INSERT_TICKET, ticket)).mappings().one()
            for event in r.audit_rows:
                await session.execute(_INSERT_EVENT, {"ticket_id": row["id"], **event})
            if call_id is not None:
                await _link_call(session, call_id, row["id"], r.now)
        return row


async def _link_call(session: AsyncSession, call_id: int, ticket_id: int, now: datetime) -> None:
    # One request, one ticket: the call keeps its first ticket and links every other.
    await session.execute(
        update(Call).where(Call.id == call_id, Call.ticket_id.is_(None)).values(ticket_id=ticket_id)
    )
    await session.execute(
        insert(CallTicket).values(call_id=call_id, ticket_id=ticket_id, linked_at=now)
    )


def _iso(value: object) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


# Built once: the same statement object every time lets SQLAlchemy reuse its compiled form.
_INSERT_TICKET = insert(Ticket.__table__).returning(*Ticket.__table__.c)
_INSERT_EVENT = insert(TicketEvent.__table__)
_TICKET_COLUMNS = [c.name for c in Ticket.__table__.c if c.name not in ("id", "uin")]
# A text statement gets no column defaults from the model: they are given as values.
_TICKET_DEFAULTS = {
    c.name: (c.default.arg if c.default is not None and c.default.is_scalar else None)
    for c in Ticket.__table__.c
    if c.name not in ("id", "uin")
}
_EVENT_COLUMNS = "at, actor, action, field, old_value, new_value, data"
_EVENT_VALUES = ", ".join(f"ev.{c}" for c in _EVENT_COLUMNS.split(", "))
# The audit rows come as one JSON array (built by `audit.creation_rows`), kept in order.
_EVENT_ROWS = (
    "ROWS FROM (json_to_recordset(CAST(:events AS JSON)) AS (at timestamptz, actor text, "
    "action text, field text, old_value text, new_value text, data json)) "
    f"WITH ORDINALITY AS ev({_EVENT_COLUMNS}, n)"
)


@cache
def _postgres_statement(*, reserved: bool, in_call: bool) -> TextClause:
    """The registration statement for where the UIN comes from and whether a call is linked.

    A reserved UIN is claimed (`used_at` set) only if not used yet: a concurrent claim of
    the same UIN waits for this one's commit and then finds nothing to claim. The call's
    row is locked so that of two tickets opened in it at once, one is its first. With no
    call (or no UIN left, or no reservation to claim) nothing is written: no row comes back.
    """
    ctes = []
    if in_call:
        ctes.append("c AS (SELECT id FROM calls WHERE linkedid = :linkedid FOR UPDATE)")
    if reserved:
        with_call = " AND EXISTS (SELECT 1 FROM c)" if in_call else ""
        ctes.append(
            "r AS (UPDATE uin_reservations SET used_at = :created_at "
            f"WHERE uin = :uin AND used_at IS NULL{with_call} RETURNING uin)"
        )
        uin, source = "r.uin", "r"
    else:
        # nextval per row of `c`: a call that is not there draws no UIN
        drawn = "SELECT nextval('uin_seq') AS v" + (" FROM c" if in_call else "")
        uin, source = "lpad(n.v::text, :digits, '0')", f"({drawn}) AS n WHERE n.v < :uin_limit"
    ctes.append(
        f"t AS (INSERT INTO tickets (uin, {', '.join(_TICKET_COLUMNS)}) "
        f"SELECT {uin}, {', '.join(f':{c}' for c in _TICKET_COLUMNS)} FROM {source} RETURNING *)"
    )
    ctes.append(
        f"e AS (INSERT INTO ticket_events (ticket_id, {_EVENT_COLUMNS}) "
        f"SELECT t.id, {_EVENT_VALUES} FROM t, {_EVENT_ROWS} ORDER BY ev.n)"
    )
    if in_call:
        ctes.append(
            "l AS (UPDATE calls SET ticket_id = t.id FROM t, c "
            "WHERE calls.id = c.id AND calls.ticket_id IS NULL)"
        )
        ctes.append(
            "k AS (INSERT INTO call_tickets (call_id, ticket_id, linked_at) "
            "SELECT c.id, t.id, :created_at FROM c, t)"
        )
    return text("WITH " + ", ".join(ctes) + " SELECT * FROM t")
