"""`GET /api/staffing` on SQLite and PostgreSQL: the forecast from the recorded queue entries
(same weekday, weeks back, cut in HOTLINE_TIMEZONE), handle time and patience from them,
the agents per interval, the inverse, CSV, and the refusals."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest

from crm.db import make_engine, make_sessionmaker
from crm.models import Call, QueueEntry, QueueEntryOutcome
from crm.staffing.erlang import Load, agents_needed, figures, to_schedule
from tests.conftest import auth

PLANNED = "2026-03-16"  # a Monday; history: Mondays 03-09, 03-02, 02-23, 02-16
MSK = timedelta(hours=3)  # Europe/Moscow, the default HOTLINE_TIMEZONE (no DST)


def local(text: str) -> datetime:
    """A Moscow wall time as an aware UTC datetime."""
    return (datetime.fromisoformat(text) - MSK).replace(tzinfo=UTC)


async def record(settings, entries) -> None:
    """Rows as the recorder writes them: (queue, joined local, wait_s, answered, talk_s)."""
    engine = make_engine(settings.db.url)
    sessions = make_sessionmaker(engine)
    try:
        async with sessions() as session, session.begin():
            for n, (queue, joined, wait_s, answered, talk_s) in enumerate(entries):
                at = local(joined)
                call = Call(linkedid=f"lk.{n}", queue=queue, queued_at=at, talk_s=talk_s)
                session.add(call)
                await session.flush()
                session.add(
                    QueueEntry(
                        call_id=call.id,
                        entry=1,
                        queue=queue,
                        joined_at=at,
                        wait_s=wait_s,
                        outcome=QueueEntryOutcome.answered
                        if answered
                        else QueueEntryOutcome.abandoned,
                    )
                )
    finally:
        await engine.dispose()


def ten_oclock(day: str, answered: int, abandoned: int) -> list[tuple]:
    rows = []
    for n in range(answered):
        rows.append(("hotline", f"{day}T10:{n % 30:02d}:10", 10.0, True, 170.0))
    for n in range(abandoned):
        rows.append(("hotline", f"{day}T10:{n % 30:02d}:40", 30.0, False, None))
    return rows


HISTORY = [
    *ten_oclock("2026-03-09", 18, 2),  # 20 calls in 10:00-10:30
    *ten_oclock("2026-03-02", 9, 1),  # 10 calls: the forecast is their mean, 15
    # 00:30 on Monday in Moscow is still Sunday in UTC: cut in the hotline's time zone
    ("hotline", "2026-03-09T00:40:00", 10.0, True, 170.0),
    # a quarter hour's edge: 09:59:59.6 belongs to 09:30-10:00, not to 10:00
    ("hotline", "2026-03-09T09:59:59.600", 10.0, True, 170.0),
    # not in the history of Monday 03-16: another queue, another weekday, the day itself
    ("support", "2026-03-09T10:05:00", 10.0, True, 500.0),
    ("hotline", "2026-03-10T11:05:00", 10.0, True, 170.0),
    ("hotline", "2026-03-16T10:05:00", 10.0, True, 170.0),
]


async def get(client, **params):
    return await client.get("/api/staffing", params=params, headers=auth("supervisor"))


async def test_the_plan_of_a_day_from_the_history(client, settings) -> None:
    await record(settings, HISTORY)
    reply = await get(client, day=PLANNED, weeks=4, target=96, threshold=40, shrinkage=0.3)
    assert reply.status_code == 200, reply.text
    plan = reply.json()
    # talk: 27 answered at 170 s in the 10:00 intervals, + 2 more at 170 s: + wrap-up 10 s
    assert plan["talk_s"] == 170.0
    assert plan["aht_s"] == 180.0
    # patience: all waiting time / abandons = (29 x 10 + 3 x 30) / 3
    assert plan["patience_s"] == pytest.approx((29 * 10 + 3 * 30) / 3, abs=0.01)
    assert plan["model"] == "erlang_a"
    (day,) = plan["days"]
    assert day["history_days"] == ["2026-03-02", "2026-03-09"]  # weeks with calls only
    intervals = {i["start"][11:16]: i for i in day["intervals"]}
    assert len(intervals) == 48
    assert intervals["10:00"]["start"] == "2026-03-16T10:00:00+03:00"
    assert intervals["10:00"]["calls"] == 15.0
    assert intervals["10:00"]["rate_per_hour"] == 30.0
    assert intervals["00:30"]["calls"] == 0.5
    assert intervals["09:30"]["calls"] == 0.5
    assert intervals["11:00"]["calls"] == 0.0  # Tuesday's call is not Monday's history
    load = Load(30 / 3600, 180, plan["patience_s"])
    expected = agents_needed(load, 0.96, 40, 5)
    assert intervals["10:00"]["agents"] == expected.agents
    assert intervals["10:00"]["scheduled"] == to_schedule(expected.agents, 0.3)
    assert intervals["10:00"]["expected_sl"] >= 96
    assert figures(load, expected.agents - 1, 40, 5).sl < 0.96
    assert intervals["11:00"]["agents"] == 0 and intervals["11:00"]["expected_sl"] is None
    assert day["calls"] == 16.0


async def test_erlang_c_and_a_given_handle_time(client, settings) -> None:
    await record(settings, HISTORY)
    reply = await get(client, day=PLANNED, model="erlang_c", aht=300, target=80, threshold=20)
    plan = reply.json()
    assert plan["model"] == "erlang_c" and plan["patience_s"] is None and plan["aht_s"] == 300
    ten = next(i for i in plan["days"][0]["intervals"] if i["start"][11:16] == "10:00")
    assert ten["agents"] == agents_needed(Load(30 / 3600, 300), 0.8, 20).agents
    assert ten["expected_abandon_rate"] == 0.0


async def test_the_inverse_figures_of_given_agents(client, settings) -> None:
    await record(settings, HISTORY)
    plan = (await get(client, day=PLANNED, agents=3, threshold=40, shrinkage=0)).json()
    assert plan["target_pct"] is None
    ten = next(i for i in plan["days"][0]["intervals"] if i["start"][11:16] == "10:00")
    expected = figures(Load(30 / 3600, 180, plan["patience_s"]), 3, 40, 5)
    assert ten["agents"] == 3
    assert ten["expected_sl"] == round(100 * expected.sl, 2)
    assert ten["expected_abandon_rate"] == round(100 * expected.abandon_rate, 2)


async def test_a_week_plan_as_csv(client, settings) -> None:
    await record(settings, HISTORY)
    reply = await get(client, day=PLANNED, week="true", format="csv", interval=30)
    assert reply.status_code == 200, reply.text
    assert reply.headers["content-type"].startswith("text/csv")
    assert "attachment" in reply.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(reply.text)))
    assert len(rows) == 7 * 48
    assert rows[0]["date"] == PLANNED and rows[-1]["date"] == "2026-03-22"
    ten = next(r for r in rows if r["date"] == PLANNED and r["start"].endswith("T10:00:00+03:00"))
    assert float(ten["calls"]) == 15.0 and int(ten["agents"]) > 0
    assert int(ten["scheduled"]) >= int(ten["agents"])
    tuesday = next(r for r in rows if r["start"] == "2026-03-17T11:00:00+03:00")
    assert float(tuesday["calls"]) == 1.0  # Tuesday 03-10's call is Tuesday's history
    by_accept = await client.get(
        "/api/staffing",
        params={"day": PLANNED},
        headers={**auth("supervisor"), "Accept": "text/csv"},
    )
    assert by_accept.headers["content-type"].startswith("text/csv")
    assert len(by_accept.text.strip().splitlines()) == 1 + 48


async def test_fifteen_minute_intervals(client, settings) -> None:
    await record(settings, HISTORY)
    plan = (await get(client, day=PLANNED, interval=15)).json()
    intervals = {i["start"][11:16]: i["calls"] for i in plan["days"][0]["intervals"]}
    assert len(intervals) == 96
    # 10:00-10:15 holds minutes 0-14 of the 10:0n:10/40 rows
    assert intervals["10:00"] + intervals["10:15"] == 15.0
    assert intervals["09:45"] == 0.5


async def test_one_rate_without_history(client) -> None:
    reply = await get(client, rate=100, aht=180, target=80, threshold=20, shrinkage=0)
    assert reply.json() == {
        "agents": 8,
        "expected_sl": 88.01,
        "expected_asa_s": 10.04,
        "expected_abandon_rate": 0.0,
        "model": "erlang_c",
        "scheduled": None,
        "shrinkage": None,
    }


@pytest.mark.parametrize(
    ("params", "says"),
    [
        ({"rate": 100, "aht": 180, "target": 100}, "below 100 %"),
        ({"rate": 1e9, "aht": 180, "target": 80}, "needs more than"),
        ({"rate": 100}, "aht"),
        ({"day": PLANNED, "interval": 20}, "15, 30 or 60"),
        ({"rate": 100, "aht": 180, "target": 80, "agents": 8}, "not both"),
        ({"day": PLANNED}, "no answered call"),  # no history at all, and no aht given
        ({"day": PLANNED, "aht": 180, "model": "erlang_a"}, "patience"),
    ],
)
async def test_questions_without_an_answer_are_clear_422s(client, params, says) -> None:
    reply = await get(client, **params)
    assert reply.status_code == 422
    assert says in reply.json()["detail"]


async def test_staffing_needs_a_supervisor(client) -> None:
    assert (await client.get("/api/staffing", params={"rate": 1, "aht": 1})).status_code == 401
    reply = await client.get("/api/staffing", params={"rate": 1, "aht": 1}, headers=auth("agent"))
    assert reply.status_code == 403
