"""The business calendar of the settings plus the overrides kept in the database."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.settings import CalendarSettings
from crm.lifecycle.errors import OverrideNotFound
from crm.models import CalendarOverride, OverrideKind
from crm.sla import BusinessCalendar

Overrides = tuple[frozenset[date], frozenset[date]]  # (extra holidays, extra working days)


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
        self._settings = settings
        self._cached: tuple[Overrides, BusinessCalendar] | None = None
        # Fail at start-up, not at the first SLA read, on bad hours or timezone.
        BusinessCalendar.from_settings(settings)

    async def calendar(self, session: AsyncSession | None = None) -> BusinessCalendar:
        if session is None:
            async with self._sessions() as own:
                rows = await self._rows(own)
        else:
            rows = await self._rows(session)
        key = (
            frozenset(r.day for r in rows if r.kind is OverrideKind.holiday),
            frozenset(r.day for r in rows if r.kind is OverrideKind.working_day),
        )
        if self._cached is None or self._cached[0] != key:
            cal = BusinessCalendar.from_settings(
                self._settings, extra_holidays=key[0], extra_working_days=key[1]
            )
            self._cached = (key, cal)
        return self._cached[1]

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
