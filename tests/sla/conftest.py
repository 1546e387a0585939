"""Fixtures of the SLA tests: the default calendar (09:00-18:00, Moscow, RU holidays)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from core.calendar import BusinessCalendar

MSK = ZoneInfo("Europe/Moscow")
HOUR_S = 3600
DAY_S = 9 * HOUR_S  # one business day with the default hours


def msk(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=MSK)


@pytest.fixture(scope="session")
def calendar() -> BusinessCalendar:
    return BusinessCalendar()
