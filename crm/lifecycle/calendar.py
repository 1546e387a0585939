"""The business calendar of the settings plus the overrides kept in the database."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.calendar import BusinessCalendar, CalendarCache, CalendarOverrides
from core.settings import CalendarSettings
from crm.lifecycle.errors import OverrideNotFound
from crm.models import CalendarOverride, OverrideKind


class CalendarStore:
    """Builds the `BusinessCalendar` from settings and overrides, re-read on every use.

    Overrides are read each time (one small query) so an edit made through any API
    process counts at once everywhere; the calendar object is rebuilt only when they
    changed, since it caches holiday years and business-time sums.
    """

    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], settings: CalendarSettings
    ) -> None:
        self._sessions = sessions
        # Fails at start-up, not at the first SLA read, on bad hours or timezone.
        self._calendars = CalendarCache(settings)

    async def calendar(self, session: AsyncSession | None = None) -> BusinessCalendar:
        if session is None:
            async with self._sessions() as own:
                rows = await self._rows(own)
        else:
            rows = await self._rows(session)
        overrides = CalendarOverrides.from_days((r.day, r.kind) for r in rows)
        return self._calendars.calendar_with(overrides)

    async def _rows(self, session: AsyncSession) -> Sequence[CalendarOverride]:
        result = await session.execute(select(CalendarOverride).order_by(CalendarOverride.day))
        return result.scalars().all()

    async def list_overrides(self) -> Sequence[CalendarOverride]:
        async with self._sessions() as session:
            return await self._rows(session)

    async def put_override(
        self, day: date, kind: OverrideKind, note: str | None, actor: str, now: datetime
    ) -> tuple[CalendarOverride, bool]:
        """Create or replace the override of `day`; returns (override, created)."""
        async with self._sessions.begin() as session:
            row = await session.get(CalendarOverride, day, with_for_update=True)
            created = row is None
            if row is None:
                row = CalendarOverride(day=day)
                session.add(row)
            row.kind, row.note, row.updated_at, row.updated_by = kind, note, now, actor
        return row, created

    async def delete_override(self, day: date) -> None:
        async with self._sessions.begin() as session:
            result = await session.execute(
                delete(CalendarOverride).where(CalendarOverride.day == day)
            )
            if result.rowcount == 0:
                raise OverrideNotFound(day.isoformat())
