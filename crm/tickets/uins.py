"""UINs: drawn from the database's sequence, fixed width, never reused; reserved and claimed."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import bindparam, insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from crm.errors import UinSpaceExhausted
from crm.models import UinCounter, UinReservation

_RESERVATIONS = UinReservation.__table__
# Built once: the same statement object every time lets SQLAlchemy reuse its compiled form.
_CLAIM = (
    update(_RESERVATIONS)
    .where(_RESERVATIONS.c.uin == bindparam("reserved_uin"))
    .where(_RESERVATIONS.c.used_at.is_(None))
    .values(used_at=bindparam("used_now"))
)
_DRAW_POSTGRES = text("SELECT nextval('uin_seq') FROM generate_series(1, :count)")
# SQLite: `count` rows of AUTOINCREMENT (NULL draws the next value), numbered by a CTE.
_DRAW_SQLITE = text(
    "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < :count) "
    "INSERT INTO uin_counter (value) SELECT NULL FROM n RETURNING value"
)


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


async def allocate_uins(session: AsyncSession, count: int, digits: int) -> list[str]:
    """`count` UINs of the sequence in one statement (a block reserved during a burst of
    callers must not cost the busy CRM one round trip per UIN: the AGI server's stock
    draws blocks of hundreds)."""
    draw = _DRAW_POSTGRES if session.bind.dialect.name == "postgresql" else _DRAW_SQLITE
    values = sorted((await session.execute(draw, {"count": count})).scalars())
    if values and values[-1] >= 10**digits:
        raise UinSpaceExhausted(digits)
    return [str(value).zfill(digits) for value in values]


async def reserve_uins(
    sessions: async_sessionmaker[AsyncSession], count: int, actor: str, digits: int
) -> list[str]:
    """Draw `count` UINs now, for tickets registered later on them (`reserved_uin=`)."""
    async with sessions.begin() as session:
        uins = await allocate_uins(session, count, digits)
        await session.execute(
            insert(UinReservation), [{"uin": u, "reserved_by": actor} for u in uins]
        )
    return uins


async def claim_reservation(session: AsyncSession, uin: str, now: datetime) -> bool:
    """Mark reserved `uin` used; False if it is not reserved or its ticket exists already.

    One statement: on PostgreSQL a second claim of the same UIN waits for this one's
    commit and then finds nothing to claim.
    """
    claimed = await session.execute(_CLAIM, {"reserved_uin": uin, "used_now": now})
    return claimed.rowcount == 1


async def is_reserved(session: AsyncSession, uin: str) -> bool:
    """Whether `uin` was ever reserved (used or not)."""
    found = await session.scalar(select(UinReservation.uin).where(UinReservation.uin == uin))
    return found is not None
