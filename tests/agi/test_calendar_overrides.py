"""The IVR answers by the supervisor's calendar, read from the CRM and kept while it is down."""

from __future__ import annotations

import time

from core.facts import load_fact
from tests.agi.conftest import CRM_TIMEOUT_S, OPEN, Hotline
from tests.agi.test_hotline_route import opening
from tests.conftest import auth

TODAY = OPEN.date().isoformat()  # the rig's clock: a Monday, 10:00, in business hours
# TODAY is a Monday: closed by the supervisor, the caller hears it is a day off first.
CLOSED_CALL = [
    *opening(),
    'SET VARIABLE "HOTLINE_OPEN" "0"',
    'STREAM FILE "hotline/closed-today" ""',
    'STREAM FILE "hotline/closed-hours" ""',
]


async def put_holiday(h: Hotline, day: str = TODAY) -> None:
    response = await h.crm.put(
        f"/api/calendar/overrides/{day}",
        json={"kind": "holiday", "note": "decided this morning"},
        headers=auth("supervisor"),
    )
    assert response.status_code == 201, response.text


async def delete_override(h: Hotline, day: str = TODAY) -> None:
    response = await h.crm.delete(f"/api/calendar/overrides/{day}", headers=auth("supervisor"))
    assert response.status_code == 204, response.text


async def hotline_open(h: Hotline, number: str) -> bool:
    """Place one call; whether the IVR answered it as open (and handed it to the queue)."""
    call = h.pbx.place_call(number, "Caller")
    await h.pbx.run_for(60)
    commands = call.truth.agi_commands
    assert commands[:3] == opening()
    return commands[-1] == 'SET VARIABLE "HOTLINE_OPEN" "1"'


async def test_a_holiday_put_by_a_supervisor_closes_the_ivr_after_a_refresh(
    hotline: Hotline,
) -> None:
    await put_holiday(hotline)
    assert await hotline.agi.calendar.refresh()
    call = hotline.pbx.place_call("79000000101", "Анна")
    await hotline.pbx.run_for(30)
    assert call.truth.agi_commands == CLOSED_CALL
    assert "UIN" not in call.truth.variables
    assert (await hotline.crm.get("/api/tickets")).json()["total"] == 0
    facts = [load_fact(f[b"fact"]) for f in await hotline.facts()]
    assert [f.kind for f in facts] == ["out_of_hours"]
    assert facts[0].linkedid == call.truth.linkedid and facts[0].caller_num == "79000000101"


async def test_the_override_deleted_opens_the_ivr_again_after_the_next_refresh(
    hotline: Hotline,
) -> None:
    await put_holiday(hotline)
    assert await hotline.agi.calendar.refresh()
    assert not await hotline_open(hotline, "79000000102")
    await delete_override(hotline)
    assert not await hotline_open(hotline, "79000000103")  # not until the refresh
    assert await hotline.agi.calendar.refresh()
    assert await hotline_open(hotline, "79000000104")


async def test_overrides_made_before_the_start_count_from_the_first_call(
    hotline_not_started: Hotline,
) -> None:
    await put_holiday(hotline_not_started)
    await hotline_not_started.start()
    assert not await hotline_open(hotline_not_started, "79000000105")


async def test_crm_down_at_start_callers_are_served_by_the_settings_calendar(
    hotline_not_started: Hotline,
) -> None:
    h = hotline_not_started
    await put_holiday(h)
    h.crm_transport.down = True
    await h.start()  # does not fail, does not wait for the CRM
    assert not h.agi.calendar.loaded
    assert await hotline_open(h, "79000000106")  # the settings say Monday 10:00 is open
    assert not await h.agi.calendar.refresh()  # still down: a warning, nothing else
    assert await hotline_open(h, "79000000107")
    h.crm_transport.down = False
    assert await h.agi.calendar.refresh()  # retried at the next refresh
    assert not await hotline_open(h, "79000000108")


async def test_crm_down_at_a_refresh_keeps_the_last_overrides(hotline: Hotline) -> None:
    await put_holiday(hotline)
    assert await hotline.agi.calendar.refresh()
    hotline.crm_transport.down = True
    assert not await hotline.agi.calendar.refresh()
    assert not await hotline_open(hotline, "79000000109")  # still the supervisor's holiday


async def test_a_crm_hanging_at_start_holds_the_start_only_to_the_callers_deadline(
    hotline_not_started: Hotline,
) -> None:
    h = hotline_not_started
    await put_holiday(h)
    # Slower than the callers' deadline, well within the background one (10 s).
    h.crm_transport.delay_s = CRM_TIMEOUT_S + 1
    started = time.monotonic()
    await h.start()
    assert time.monotonic() - started < CRM_TIMEOUT_S + 1
    assert not h.agi.calendar.loaded  # given up at the callers' deadline
    h.crm_transport.delay_s = 0
    assert await hotline_open(h, "79000000110")
