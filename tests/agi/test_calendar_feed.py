"""The AGI server's copy of the calendar: refreshed in the background, kept when the CRM fails."""

from __future__ import annotations

import asyncio
import logging
from datetime import date

import httpx
import pytest

from agi.calendar_feed import CalendarFeed
from agi.crm_client import CrmClient, CrmUnavailable
from core.calendar import NO_OVERRIDES, CalendarOverrides
from core.settings import CalendarSettings, CrmClientSettings
from tests.agi.conftest import OPEN

HOLIDAY = CalendarOverrides(holidays=frozenset({OPEN.date()}))


class FakeCrm(CrmClient):
    """Answers the overrides from a script: an override set, or an error, per call."""

    def __init__(self, answers: list[CalendarOverrides | Exception]) -> None:
        super().__init__(CrmClientSettings(url="http://crm.invalid"))
        self.answers = answers
        self.asked: list[bool] = []
        self.all_asked = asyncio.Event()

    async def calendar_overrides(self, background: bool = True) -> CalendarOverrides:
        self.asked.append(background)
        answer = self.answers[min(len(self.asked), len(self.answers)) - 1]
        if len(self.asked) >= len(self.answers):
            self.all_asked.set()
        if isinstance(answer, Exception):
            raise answer
        return answer


async def test_refresh_applies_the_crms_overrides() -> None:
    crm = FakeCrm([HOLIDAY])
    feed = CalendarFeed(crm, CalendarSettings(), refresh_s=60)
    assert feed.current().is_open(OPEN)
    assert await feed.refresh()
    assert not feed.current().is_open(OPEN) and feed.loaded
    await crm.aclose()


async def test_a_failed_refresh_keeps_the_last_overrides_and_warns(
    caplog: pytest.LogCaptureFixture,
) -> None:
    crm = FakeCrm([HOLIDAY, CrmUnavailable("GET /api/calendar/overrides: HTTP 503")])
    feed = CalendarFeed(crm, CalendarSettings(), refresh_s=60)
    assert await feed.refresh()
    with caplog.at_level(logging.WARNING, logger="agi.calendar_feed"):
        assert not await feed.refresh()
    assert feed.overrides == HOLIDAY and not feed.current().is_open(OPEN)
    assert "keeps the last ones read" in caplog.text and "HTTP 503" in caplog.text
    await crm.aclose()


async def test_with_no_overrides_yet_a_failure_leaves_the_settings_calendar(
    caplog: pytest.LogCaptureFixture,
) -> None:
    crm = FakeCrm([CrmUnavailable("GET /api/calendar/overrides: no answer in 0.8 s")])
    feed = CalendarFeed(crm, CalendarSettings(), refresh_s=60)
    with caplog.at_level(logging.WARNING, logger="agi.calendar_feed"):
        assert not await feed.refresh(background=False)
    assert crm.asked == [False]
    assert feed.overrides == NO_OVERRIDES and feed.current().is_open(OPEN)
    assert "settings' calendar alone" in caplog.text
    await crm.aclose()


async def test_run_refreshes_every_period_through_failures_until_stopped() -> None:
    working_day = CalendarOverrides(working_days=frozenset({date(2026, 11, 28)}))
    crm = FakeCrm([CrmUnavailable("down"), HOLIDAY, CrmUnavailable("down"), working_day])
    feed = CalendarFeed(crm, CalendarSettings(), refresh_s=0.01)
    stop = asyncio.Event()
    task = asyncio.create_task(feed.run(stop))
    await asyncio.wait_for(crm.all_asked.wait(), 10)
    stop.set()
    await asyncio.wait_for(task, 2)
    assert task.exception() is None
    assert crm.asked[:4] == [True] * 4  # in the background: the longer deadline
    assert feed.overrides == working_day
    await crm.aclose()


async def test_run_stops_without_waiting_out_the_period() -> None:
    crm = FakeCrm([HOLIDAY])
    feed = CalendarFeed(crm, CalendarSettings(), refresh_s=3600)
    stop = asyncio.Event()
    task = asyncio.create_task(feed.run(stop))
    await asyncio.sleep(0)
    stop.set()
    await asyncio.wait_for(task, 2)  # not an hour
    assert crm.asked == []  # the first read is the service's start, not the loop's
    await crm.aclose()


def crm_answering(response: httpx.Response) -> CrmClient:
    return CrmClient(
        CrmClientSettings(url="http://crm", token="t"),
        transport=httpx.MockTransport(lambda request: response),
    )


async def test_the_client_reads_the_override_list() -> None:
    crm = crm_answering(
        httpx.Response(
            200,
            json=[
                {"day": "2026-11-28", "kind": "working_day", "note": None},
                {"day": "2026-11-30", "kind": "holiday", "note": "x"},
            ],
        )
    )
    overrides = await crm.calendar_overrides()
    assert overrides == CalendarOverrides(
        holidays=frozenset({date(2026, 11, 30)}), working_days=frozenset({date(2026, 11, 28)})
    )
    await crm.aclose()


@pytest.mark.parametrize(
    "response",
    [
        httpx.Response(200, json={"detail": "not a list"}),
        httpx.Response(200, json=[{"day": "30.11.2026", "kind": "holiday"}]),
        httpx.Response(200, json=[{"day": "2026-11-30", "kind": "party"}]),
        httpx.Response(200, text="<html>"),
        httpx.Response(404, json={"detail": "Not Found"}),
    ],
)
async def test_an_unreadable_answer_is_the_crm_unavailable(response: httpx.Response) -> None:
    crm = crm_answering(response)
    with pytest.raises(CrmUnavailable, match="/api/calendar/overrides"):
        await crm.calendar_overrides()
    await crm.aclose()
