"""The business calendar the IVR answers by: the settings' calendar plus the CRM's overrides.

A supervisor's holiday (`PUT /api/calendar/overrides/{day}`) moves SLA deadlines in the
CRM at once; the AGI server reads the same overrides from the CRM's API at start-up and
every `HOTLINE_AGI_CALENDAR_REFRESH_S`, so the IVR closes on that day too. A caller never
waits for the CRM here: `current()` answers from memory, and a CRM that is down keeps the
last overrides read (the settings' calendar alone if none yet) until a refresh succeeds.
"""

from __future__ import annotations

import asyncio
import logging

from agi.crm_client import CrmClient, CrmUnavailable
from core.aio import wait_any
from core.calendar import NO_OVERRIDES, BusinessCalendar, CalendarCache
from core.settings import CalendarSettings

log = logging.getLogger(__name__)


class CalendarFeed:
    """`current()` for the callers, `refresh()` and `run()` to keep it up to date."""

    def __init__(self, crm: CrmClient, settings: CalendarSettings, refresh_s: float) -> None:
        self._crm = crm
        self._calendars = CalendarCache(settings)
        self.refresh_s = refresh_s
        self.overrides = NO_OVERRIDES
        self.loaded = False  # whether `overrides` came from the CRM at least once

    def current(self) -> BusinessCalendar:
        return self._calendars.calendar_with(self.overrides)

    async def refresh(self, background: bool = True) -> bool:
        """Read the overrides from the CRM; False (last ones kept, warning logged) if it fails."""
        try:
            overrides = await self._crm.calendar_overrides(background=background)
        except CrmUnavailable as exc:
            kept = "the last ones read" if self.loaded else "the settings' calendar alone"
            log.warning("calendar overrides not refreshed, IVR keeps %s: %s", kept, exc)
            return False
        if overrides != self.overrides:
            log.info(
                "calendar overrides: %d holidays, %d working days",
                len(overrides.holidays),
                len(overrides.working_days),
            )
        self.overrides, self.loaded = overrides, True
        return True

    async def run(self, stop: asyncio.Event) -> None:
        """Refresh every `refresh_s` until `stop` is set (the first read is `start`'s)."""
        while True:
            await wait_any(stop, timeout_s=self.refresh_s)
            if stop.is_set():
                return
            await self.refresh()
