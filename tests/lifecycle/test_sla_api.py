"""`GET /api/tickets/{uin}/sla` on the worked examples of the regulation, through the API."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import httpx

from crm.sla import BusinessCalendar
from tests.conftest import auth
from tests.lifecycle.conftest import DAY_S, HOUR_S, FakeClock, events, msk, new_ticket, post, sla

SLA_KEYS = {
    "deadline",
    "allowance_s",
    "elapsed_s",
    "remaining_s",
    "paused",
    "breached",
    "used_share",
}


async def test_raised_p3_to_p1_on_friday_evening_is_due_monday_17(
    lc: httpx.AsyncClient, clock: FakeClock
) -> None:
    clock.set(msk(2026, 11, 25, 10))
    uin = (await new_ticket(lc, category="INC", priority=3))["uin"]
    clock.set(msk(2026, 11, 27, 17))  # Friday 17:00
    raised = await lc.patch(f"/api/tickets/{uin}", json={"priority": 1}, headers=auth("agent"))
    assert raised.status_code == 200
    clock.set(msk(2026, 11, 28, 12))  # Saturday: the clock does not run
    state = await sla(lc, uin)
    assert set(state) == SLA_KEYS
    assert state["deadline"] == "2026-11-30T17:00:00+03:00"
    assert state["allowance_s"] == DAY_S
    assert state["elapsed_s"] == HOUR_S  # only Friday 17:00-18:00 since the raise
    assert state["remaining_s"] == DAY_S - HOUR_S
    assert state["paused"] is False and state["breached"] is False
    assert abs(state["used_share"] - 1 / 9) < 1e-9
    changes = [(e["field"], e["old_value"], e["new_value"]) for e in await events(lc, uin)]
    assert ("priority", "3", "1") in changes


async def test_p2_on_december_30_is_due_on_the_second_working_day_of_january(
    lc: httpx.AsyncClient, clock: FakeClock
) -> None:
    clock.set(msk(2026, 12, 30, 12))
    uin = (await new_ticket(lc, category="INC", priority=2))["uin"]
    state = await sla(lc, uin)
    cal = BusinessCalendar()
    january = [date(2027, 1, d) for d in range(1, 32) if cal.is_working_day(date(2027, 1, d))]
    assert january[0] > date(2027, 1, 8)  # the New Year holidays are skipped
    assert not cal.is_working_day(date(2026, 12, 31))
    assert state["deadline"] == f"{january[1].isoformat()}T12:00:00+03:00"
    assert state["allowance_s"] == 2 * DAY_S


async def test_suspension_stops_the_clock_and_resume_restarts_it(
    lc: httpx.AsyncClient, clock: FakeClock
) -> None:
    uin = (await new_ticket(lc, category="INC", priority=2))["uin"]  # Wed 10:00
    clock.set(msk(2026, 11, 25, 12))
    response = await post(
        lc, uin, "suspend", {"reason": "external_system", "external_ref": "VEND-42", "note": "ждём"}
    )
    assert response.status_code == 200 and response.json()["status"] == "suspended"
    paused = await sla(lc, uin)
    clock.set(msk(2026, 11, 26, 15))  # a day and more later, still suspended
    later = await sla(lc, uin)
    assert later["paused"] is True and later["elapsed_s"] == paused["elapsed_s"] == 2 * HOUR_S
    # While paused, the deadline moves on as if work resumed now.
    assert datetime.fromisoformat(later["deadline"]) > datetime.fromisoformat(paused["deadline"])
    assert (await post(lc, uin, "resume")).status_code == 200
    clock.set(msk(2026, 11, 26, 16))
    running = await sla(lc, uin)
    assert running["paused"] is False and running["elapsed_s"] == 3 * HOUR_S
    suspension = [e for e in await events(lc, uin) if e["new_value"] == "suspended"]
    assert len(suspension) == 1 and suspension[0]["actor"] == "agent"


async def test_suspension_reason_and_reference_are_checked(lc: httpx.AsyncClient) -> None:
    uin = (await new_ticket(lc))["uin"]
    no_ref = await post(lc, uin, "suspend", {"reason": "external_system"})
    assert no_ref.status_code == 422
    assert no_ref.json()["detail"][0]["loc"] == ["body", "external_ref"]
    unknown = await post(lc, uin, "suspend", {"reason": "lunch"})
    assert unknown.status_code == 422
    not_suspended = await post(lc, uin, "resume")
    assert not_suspended.status_code == 409


async def test_lowering_keeps_time_in_work_and_raising_restarts(
    lc: httpx.AsyncClient, clock: FakeClock
) -> None:
    uin = (await new_ticket(lc, category="INC", priority=2))["uin"]  # Wed 10:00
    clock.set(msk(2026, 11, 25, 14))
    await lc.patch(f"/api/tickets/{uin}", json={"priority": 3}, headers=auth("agent"))
    lowered = await sla(lc, uin)
    assert lowered["allowance_s"] == 5 * DAY_S
    assert lowered["elapsed_s"] == 4 * HOUR_S  # the time already in work is kept
    assert lowered["remaining_s"] == 5 * DAY_S - 4 * HOUR_S
    clock.set(msk(2026, 11, 25, 16))
    await lc.patch(f"/api/tickets/{uin}", json={"priority": 1}, headers=auth("agent"))
    clock.set(msk(2026, 11, 25, 17))
    raised = await sla(lc, uin)
    assert raised["allowance_s"] == DAY_S and raised["elapsed_s"] == HOUR_S
    assert raised["deadline"] == "2026-11-26T16:00:00+03:00"
    changes = [
        (e["old_value"], e["new_value"]) for e in await events(lc, uin) if e["field"] == "priority"
    ]
    assert changes == [("2", "3"), ("3", "1")]


async def test_priority_4_uses_the_agreed_deadline(lc: httpx.AsyncClient, clock: FakeClock) -> None:
    agreed = msk(2026, 12, 4, 15)
    ticket = await new_ticket(lc, category="ZnK", priority=4, agreed_deadline=agreed.isoformat())
    assert datetime.fromisoformat(ticket["agreed_deadline"]) == agreed
    assert (await sla(lc, ticket["uin"]))["deadline"] == "2026-12-04T15:00:00+03:00"
    open_ended = await new_ticket(lc, category="ZnK", priority=4)
    state = await sla(lc, open_ended["uin"])
    assert state["deadline"] is None and state["allowance_s"] is None
    bad = await lc.post(
        "/api/tickets",
        json={"category": "INC", "priority": 2, "agreed_deadline": agreed.isoformat()},
        headers=auth("agent"),
    )
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["body", "agreed_deadline"]
    past = await lc.patch(
        f"/api/tickets/{open_ended['uin']}",
        json={"agreed_deadline": (clock.now - timedelta(days=1)).isoformat()},
        headers=auth("agent"),
    )
    assert past.status_code == 422


async def test_calendar_override_moves_the_deadline(
    lc: httpx.AsyncClient, clock: FakeClock
) -> None:
    clock.set(msk(2026, 11, 27, 17))
    uin = (await new_ticket(lc, category="INC", priority=1))["uin"]
    assert (await sla(lc, uin))["deadline"] == "2026-11-30T17:00:00+03:00"
    path = "/api/calendar/overrides/2026-11-30"
    body = {"kind": "holiday", "note": "региональный выходной"}
    assert (await lc.put(path, json=body, headers=auth("agent"))).status_code == 403
    created = await lc.put(path, json=body, headers=auth("supervisor"))
    assert created.status_code == 201 and created.json()["kind"] == "holiday"
    assert (await sla(lc, uin))["deadline"] == "2026-12-01T17:00:00+03:00"
    saturday = await lc.put(
        "/api/calendar/overrides/2026-11-28",
        json={"kind": "working_day"},
        headers=auth("supervisor"),
    )
    assert saturday.status_code == 201
    assert (await sla(lc, uin))["deadline"] == "2026-11-28T17:00:00+03:00"
    listed = (await lc.get("/api/calendar/overrides", headers=auth("agent"))).json()
    assert [(o["day"], o["kind"]) for o in listed] == [
        ("2026-11-28", "working_day"),
        ("2026-11-30", "holiday"),
    ]
    for day in ("2026-11-28", "2026-11-30"):
        gone = await lc.delete(f"/api/calendar/overrides/{day}", headers=auth("supervisor"))
        assert gone.status_code == 204
    assert (await sla(lc, uin))["deadline"] == "2026-11-30T17:00:00+03:00"
    missing = await lc.delete("/api/calendar/overrides/2026-11-30", headers=auth("supervisor"))
    assert missing.status_code == 404
    bad = await lc.put(path, json={"kind": "party"}, headers=auth("supervisor"))
    assert bad.status_code == 422


async def test_at_risk_lists_tickets_past_the_threshold_for_supervisors(
    lc: httpx.AsyncClient, clock: FakeClock
) -> None:
    urgent = (await new_ticket(lc, category="INC", priority=1))["uin"]  # Wed 10:00, 9 h
    relaxed = (await new_ticket(lc, category="INC", priority=3))["uin"]
    clock.set(msk(2026, 11, 25, 16, 30))  # 6.5 h of 9: below 75 %
    assert (await lc.get("/api/sla/at-risk", headers=auth("supervisor"))).json() == []
    clock.set(msk(2026, 11, 25, 17))  # 7 h of 9: past 75 %
    risky = (await lc.get("/api/sla/at-risk", headers=auth("supervisor"))).json()
    assert [t["uin"] for t in risky] == [urgent]
    assert risky[0]["sla"]["breached"] is False and risky[0]["sla"]["used_share"] > 0.75
    clock.set(msk(2026, 11, 26, 11))
    breached = (await lc.get("/api/sla/at-risk", headers=auth("supervisor"))).json()
    assert breached[0]["uin"] == urgent and breached[0]["sla"]["breached"] is True
    assert relaxed not in [t["uin"] for t in breached]
    assert (await lc.get("/api/sla/at-risk", headers=auth("agent"))).status_code == 403


async def test_sla_of_unknown_ticket_is_404(lc: httpx.AsyncClient) -> None:
    response = await lc.get("/api/tickets/99999999/sla", headers=auth("agent"))
    assert response.status_code == 404
