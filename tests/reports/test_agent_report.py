"""The agent report `GET /api/reports/agents`: a constructed day recorded through the
recorder (agent facts and call facts, a resync's member lists told in between), every
figure computed by hand; roles, CSV, errors."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from asgi_lifespan import LifespanManager
from sqlalchemy import select

from core.facts import (
    AgentLoggedIn,
    AgentLoggedOut,
    AgentPaused,
    AgentRingNoAnswer,
    AgentsPresent,
    CallAnswered,
    CallCompleted,
    CallQueued,
    CallRinging,
    CallStarted,
    MemberSeen,
)
from core.settings import ApiSettings
from crm.db import make_engine, make_sessionmaker
from crm.models import AgentSession, Call, Transfer
from crm.recorder import Recorder
from crm.service import TicketService
from hotline.bootstrap import create_app
from tests.conftest import TEST_KEYS, TOKENS, auth

pytestmark = pytest.mark.redis
AGENT_TOKEN = "agent-a1-token-0123456789abc"
DAY = datetime(2026, 3, 2, tzinfo=UTC)
RANGE = {"from": "2026-03-02T12:00:00+03:00", "to": "2026-03-02T15:00:00+03:00"}


def at(hhmmss: str) -> datetime:
    h, m, s = hhmmss.split(":")
    return DAY + timedelta(hours=int(h), minutes=int(m), seconds=float(s))


@pytest.fixture
async def client(settings):
    tokens = [f"{role}:{token}" for role, token in TOKENS.items()]
    settings = settings.model_copy(
        update={"api": ApiSettings(tokens=",".join([*tokens, f"agent/a1:{AGENT_TOKEN}"]))}
    )
    assert settings.staffing.wrapup_s == 10 and settings.calendar.timezone == "Europe/Moscow"
    app = create_app(settings)
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://crm") as http:
            yield http


def answered_call(linkedid: str, agent: str, rang: str, answered: str, completed: str):
    joined = at(rang) - timedelta(seconds=5)
    yield CallStarted(linkedid=linkedid, channel=f"Local/{linkedid}", at=joined)
    yield CallQueued(linkedid=linkedid, queue="hotline", position=1, at=joined)
    yield CallRinging(linkedid=linkedid, queue="hotline", agent=agent, at=at(rang))
    wait = (at(answered) - joined).total_seconds()
    yield CallAnswered(
        linkedid=linkedid, queue="hotline", agent=agent, wait_s=wait, at=at(answered)
    )
    yield CallCompleted(
        linkedid=linkedid, queue="hotline", agent=agent, reason="agent", at=at(completed)
    )


def day_facts():
    """09:00-11:30 UTC for a1; a2 in two queues at once, and a session a resync ends."""
    a1 = {"agent": "a1", "queue": "hotline"}
    yield AgentLoggedIn(**a1, at=at("09:00:00.2"), login_at=at("09:00:00"))
    yield AgentLoggedIn(agent="a2", queue="hotline", at=at("09:00:00"), login_at=at("09:00:00"))
    # A tracker restart: the resync tells the same sessions again (nothing changes).
    yield AgentsPresent(
        at=at("09:05:00"),
        members=[
            MemberSeen(agent="a1", queue="hotline", login_at=at("09:00:00")),
            MemberSeen(agent="a2", queue="hotline", login_at=at("09:00:00")),
        ],
    )
    # Call 1.1: a1 rings out unanswered, is rung again and answers; 300 s of talk.
    yield CallStarted(linkedid="1.1", channel="Local/1.1", at=at("09:09:55"))
    yield CallQueued(linkedid="1.1", queue="hotline", position=1, at=at("09:09:55"))
    yield CallRinging(linkedid="1.1", queue="hotline", agent="a1", at=at("09:10:00"))
    yield AgentRingNoAnswer(**a1, linkedid="1.1", at=at("09:10:15"))
    yield CallRinging(linkedid="1.1", queue="hotline", agent="a1", at=at("09:10:20"))
    yield CallAnswered(linkedid="1.1", queue="hotline", agent="a1", wait_s=30.0, at=at("09:10:25"))
    yield CallCompleted(linkedid="1.1", queue="hotline", agent="a1", at=at("09:15:25"))
    yield AgentLoggedIn(agent="a2", queue="support", at=at("09:30:00"), login_at=at("09:30:00"))
    yield AgentPaused(**a1, paused=True, reason="lunch", at=at("09:30:00"))
    # The resync during the pause: the pause is known, nothing changes.
    yield AgentsPresent(
        at=at("09:40:00"),
        members=[
            MemberSeen(
                agent="a1",
                queue="hotline",
                login_at=at("09:00:00"),
                paused=True,
                reason="lunch",
                paused_at=at("09:30:00"),
            ),
            MemberSeen(agent="a2", queue="hotline", login_at=at("09:00:00")),
            MemberSeen(agent="a2", queue="support", login_at=at("09:30:00")),
        ],
    )
    yield AgentLoggedOut(agent="a2", queue="hotline", at=at("10:00:00"), login_at=at("09:00:00"))
    yield AgentPaused(**a1, paused=False, at=at("10:15:00"))
    # Call 1.2: answered at 10:20:05.5, a1 transfers it at 10:25 (talk 294.5 s).
    yield from answered_call("1.2", "a1", "10:20:00", "10:20:05.5", "10:25:00")
    yield AgentLoggedOut(agent="a2", queue="support", at=at("10:30:00"), login_at=at("09:30:00"))
    yield AgentPaused(**a1, paused=True, reason="training", at=at("10:50:00"))
    yield AgentPaused(**a1, paused=False, at=at("10:55:00"))
    # Call 1.3 spans the hour: 2 s of talk in the 10th hour, 58 s and the wrap-up in the 11th.
    yield from answered_call("1.3", "a1", "10:59:55", "10:59:58", "11:00:58")
    yield AgentLoggedOut(**a1, at=at("11:30:00"), login_at=at("09:00:00"))
    # a2 logs in again; its removal is missed, and the next resync no longer lists it.
    yield AgentLoggedIn(agent="a2", queue="hotline", at=at("11:40:00"), login_at=at("11:40:00"))
    yield AgentsPresent(at=at("11:50:00"), members=[])


async def record(settings) -> None:
    engine = make_engine(settings.db.url)
    sessions = make_sessionmaker(engine)
    recorder = Recorder(None, TEST_KEYS, sessions, TicketService(sessions))  # type: ignore[arg-type]
    try:
        facts = list(day_facts())
        await recorder.apply_many(facts[:9])  # one batch, as a read of the stream
        for fact in facts[9:]:
            await recorder.apply(fact)
        await recorder.apply_many(facts)  # every fact told twice changes nothing
        async with sessions.begin() as session:  # the transfer row the ledger writes with Redis
            call_id = (
                await session.execute(select(Call.id).where(Call.linkedid == "1.2"))
            ).scalar()
            session.add(
                Transfer(
                    call_id=call_id,
                    n=1,
                    from_agent="a1",
                    to="300",
                    mode="blind",
                    how="blind",
                    outcome="completed",
                    at=at("10:25:00"),
                )
            )
        async with sessions() as session:
            ended = {
                (row.agent, row.queue, row.login_at.isoformat()): row.ended_by
                for row in await session.scalars(select(AgentSession))
            }
        assert ended == {
            ("a1", "hotline", at("09:00:00").isoformat()): "removed",
            ("a2", "hotline", at("09:00:00").isoformat()): "removed",
            ("a2", "support", at("09:30:00").isoformat()): "removed",
            ("a2", "hotline", at("11:40:00").isoformat()): "resync",
        }
    finally:
        await engine.dispose()


def figures(**given):
    base = {
        "logged_in_s": 0.0,
        "sessions": 0,
        "paused_s": 0.0,
        "paused_by_reason": {},
        "offered": 0,
        "answered": 0,
        "missed": 0,
        "talk_s": 0.0,
        "wrapup_s": 0.0,
        "transfers": 0,
        "days_logged_in": 0,
        "contacts_per_day": None,
        "occupancy": None,
    }
    return base | given


A1_HOURS = [
    figures(
        logged_in_s=3600.0,
        sessions=1,
        paused_s=1800.0,
        paused_by_reason={"lunch": 1800.0},
        offered=2,
        answered=1,
        missed=1,
        talk_s=300.0,
        wrapup_s=10.0,
        days_logged_in=1,
        contacts_per_day=1.0,
        occupancy=17.2,  # 310 / (3600 - 1800)
    ),
    figures(
        logged_in_s=3600.0,
        sessions=1,
        paused_s=1200.0,
        paused_by_reason={"lunch": 900.0, "training": 300.0},
        offered=2,
        answered=2,
        talk_s=296.5,
        wrapup_s=10.0,
        transfers=1,
        days_logged_in=1,
        contacts_per_day=2.0,
        occupancy=12.8,  # 306.5 / 2400
    ),
    figures(
        logged_in_s=1800.0,
        sessions=1,
        talk_s=58.0,
        wrapup_s=10.0,
        days_logged_in=1,
        contacts_per_day=0.0,
        occupancy=3.8,  # 68 / 1800
    ),
]
A1_TOTAL = figures(
    logged_in_s=9000.0,
    sessions=1,
    paused_s=3000.0,
    paused_by_reason={"lunch": 2700.0, "training": 300.0},
    offered=4,
    answered=3,
    missed=1,
    talk_s=654.5,
    wrapup_s=30.0,
    transfers=1,
    days_logged_in=1,
    contacts_per_day=3.0,
    occupancy=11.4,  # 684.5 / 6000
)
A2_HOURS = [
    figures(logged_in_s=3600.0, sessions=2, days_logged_in=1, contacts_per_day=0.0, occupancy=0.0),
    figures(logged_in_s=1800.0, sessions=1, days_logged_in=1, contacts_per_day=0.0, occupancy=0.0),
    figures(logged_in_s=600.0, sessions=1, days_logged_in=1, contacts_per_day=0.0, occupancy=0.0),
]
A2_TOTAL = figures(
    logged_in_s=6000.0, sessions=3, days_logged_in=1, contacts_per_day=0.0, occupancy=0.0
)


async def report(client, role="supervisor", **params):
    headers = auth(role) if role in TOKENS else {"Authorization": f"Bearer {role}"}
    return await client.get("/api/reports/agents", params=RANGE | params, headers=headers)


async def test_a_constructed_day_by_hour(client, settings) -> None:
    await record(settings)
    reply = await report(client, interval="hour")
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert (body["interval"], body["from"], body["to"]) == (
        "hour",
        "2026-03-02T12:00:00+03:00",
        "2026-03-02T15:00:00+03:00",
    )
    agents = {a["agent"]: a for a in body["agents"]}
    assert sorted(agents) == ["a1", "a2"]
    a1 = agents["a1"]
    assert [s["start"] for s in a1["series"]] == [
        "2026-03-02T12:00:00+03:00",
        "2026-03-02T13:00:00+03:00",
        "2026-03-02T14:00:00+03:00",
    ]
    strip = [{k: v for k, v in s.items() if k not in ("start", "end")} for s in a1["series"]]
    assert strip == A1_HOURS
    assert a1["total"] == A1_TOTAL
    a2 = agents["a2"]
    assert [{k: v for k, v in s.items() if k not in ("start", "end")} for s in a2["series"]] == (
        A2_HOURS
    )
    assert a2["total"] == A2_TOTAL


async def test_by_day_the_totals_and_an_agent_sees_only_itself(client, settings) -> None:
    await record(settings)
    by_day = (await report(client, interval="day")).json()
    a1 = next(a for a in by_day["agents"] if a["agent"] == "a1")
    [day] = a1["series"]
    assert {k: v for k, v in day.items() if k not in ("start", "end")} == A1_TOTAL
    mine = await report(client, AGENT_TOKEN, interval="hour")
    assert [a["agent"] for a in mine.json()["agents"]] == ["a1"]
    assert (await report(client, AGENT_TOKEN, agent="a2")).status_code == 403
    nobody = await report(client, agent="nobody")
    assert nobody.status_code == 200 and nobody.json()["agents"] == []


async def test_occupancy_counts_only_busy_time_the_agent_could_take_calls_in(
    client, settings
) -> None:
    """Occupancy is busy / (logged in - paused + busy while paused): talk outside the agent's
    session (before it was recorded, after it logged out) is talk but not occupancy, and a
    pause taken in a wrap-up keeps that wrap-up busy. The plain (talk + wrap-up) /
    (logged in - paused) gave 184.8 % here."""
    b1 = {"agent": "b1", "queue": "hotline"}
    facts = [
        # 900 s of talk, of which the last 300 s within b1's session (11:00-11:20).
        *answered_call("b.1", "b1", "10:49:55", "10:50:00", "11:05:00"),
        AgentLoggedIn(**b1, at=at("11:00:00"), login_at=at("11:00:00")),
        # 120 s of talk, wrap-up 11:12:00-11:12:10 of which the last 5 s paused.
        *answered_call("b.2", "b1", "11:09:55", "11:10:00", "11:12:00"),
        AgentPaused(**b1, paused=True, reason="lunch", at=at("11:12:05")),
        AgentLoggedOut(**b1, at=at("11:20:00"), login_at=at("11:00:00")),
        # 300 s of talk after the session ended.
        *answered_call("b.3", "b1", "11:24:55", "11:25:00", "11:30:00"),
    ]
    engine = make_engine(settings.db.url)
    sessions = make_sessionmaker(engine)
    try:
        await Recorder(None, TEST_KEYS, sessions, TicketService(sessions)).apply_many(facts)  # type: ignore[arg-type]
    finally:
        await engine.dispose()
    [b1_report] = (await report(client, interval="day", agent="b1")).json()["agents"]
    total = b1_report["total"]
    assert (total["logged_in_s"], total["paused_s"]) == (1200.0, 475.0)
    assert (total["talk_s"], total["wrapup_s"]) == (1320.0, 20.0)
    # busy in session: 11:00:00-11:05:10 (310 s) + 11:10:00-11:12:10 (130 s); 5 s of it paused
    assert total["occupancy"] == round(100 * 440 / (1200 - 475 + 5), 1) == 60.3


async def test_csv_has_the_json_figures(client, settings) -> None:
    await record(settings)
    reply = await report(client, interval="hour", format="csv")
    assert reply.status_code == 200, reply.text
    assert reply.headers["content-type"].startswith("text/csv")
    assert reply.content.startswith("\ufeff".encode())
    rows = list(csv.DictReader(io.StringIO(reply.content.decode("utf-8-sig")), delimiter=";"))
    a1 = [r for r in rows if r["agent"] == "a1"]
    assert [r["period"] for r in a1] == ["interval", "interval", "interval", "total"]
    assert a1[1]["talk_s"] == "296,5" and a1[1]["paused_training_s"] == "300,0"
    assert a1[3]["occupancy"] == "11,4" and a1[3]["answered"] == "3"
    assert a1[3]["start"] == RANGE["from"]


@pytest.mark.parametrize(
    ("params", "parameter"),
    [
        ({"interval": "fortnight"}, "interval"),
        ({"from": "2026-03-03T00:00:00+03:00"}, "from"),
        ({"interval": "15m", "from": "2020-01-01T00:00:00+03:00"}, "interval"),
        ({"format": "xml"}, "format"),
    ],
)
async def test_bad_input_is_a_422_naming_the_parameter(client, params, parameter) -> None:
    reply = await report(client, **params)
    assert reply.status_code == 422
    assert reply.json()["detail"][0]["loc"] == ["query", parameter]


async def test_needs_a_token(client) -> None:
    assert (await client.get("/api/reports/agents")).status_code == 401
    assert (await report(client, "service")).status_code == 403
