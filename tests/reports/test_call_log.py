"""The call log `GET /api/calls`: details, keyset pages newest first, filters, roles, errors."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest
from asgi_lifespan import LifespanManager
from sqlalchemy import select

from core.facts import (
    CallAbandoned,
    CallAnswered,
    CallEnded,
    CallQueued,
    CallRated,
    CallStarted,
    CallTicketed,
    CallTransferred,
)
from core.settings import ApiSettings
from crm.db import make_engine, make_sessionmaker
from crm.models import Call, Transfer
from crm.recorder import Recorder
from crm.service import TicketService
from hotline.bootstrap import create_app
from tests.conftest import TEST_KEYS, TOKENS, auth

pytestmark = pytest.mark.redis
AGENT_TOKEN = "agent-a1-token-0123456789abc"
BASE = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
async def client(settings):
    tokens = [f"{role}:{token}" for role, token in TOKENS.items()]
    settings = settings.model_copy(
        update={"api": ApiSettings(tokens=",".join([*tokens, f"agent/a1:{AGENT_TOKEN}"]))}
    )
    app = create_app(settings)
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://crm") as http:
            yield http


def call_facts(n: int, *, agent: str | None, queue: str = "hotline", transferred: bool = False):
    linkedid = f"1.{n}"
    start = BASE + timedelta(minutes=10 * n)
    joined = start + timedelta(seconds=20)
    yield CallStarted(
        linkedid=linkedid,
        channel=f"Local/{n}",
        caller_num=f"+7900000000{n}",
        caller_name=f"Caller {n}",
        at=start,
    )
    yield CallTicketed(linkedid=linkedid, uin=f"0000000{n}")
    yield CallQueued(linkedid=linkedid, queue=queue, position=1, at=joined)
    if agent is None:
        yield CallAbandoned(
            linkedid=linkedid,
            queue=queue,
            wait_s=12.5,
            wait_whole_s=13,
            position=1,
            original_position=1,
            at=joined + timedelta(seconds=12.5),
        )
        yield CallEnded(linkedid=linkedid, hung_up_by="caller", at=joined + timedelta(seconds=13))
        return
    answered = joined + timedelta(seconds=30.25)
    yield CallAnswered(
        linkedid=linkedid, queue=queue, agent=agent, wait_s=30.25, wait_whole_s=31, at=answered
    )
    if transferred:
        yield CallTransferred(
            linkedid=linkedid,
            n=1,
            how="blind",
            from_agent=agent,
            to="600",
            at=answered + timedelta(seconds=60),
        )
        yield CallQueued(
            linkedid=linkedid,
            queue="support",
            position=1,
            entry=2,
            at=answered + timedelta(seconds=61),
        )
        yield CallAnswered(
            linkedid=linkedid,
            queue="support",
            agent="b7",
            wait_s=4.0,
            wait_whole_s=4,
            entry=2,
            at=answered + timedelta(seconds=65),
        )
    yield CallEnded(
        linkedid=linkedid, talk_s=120.0, hung_up_by="agent", at=answered + timedelta(seconds=200)
    )
    yield CallRated(linkedid=linkedid, solved=True, score=5)


async def record(settings) -> None:
    facts = []
    facts += call_facts(1, agent="a1")
    facts += call_facts(2, agent=None)
    facts += call_facts(3, agent="a1", transferred=True)
    facts += call_facts(4, agent="a2", queue="support")
    facts += call_facts(5, agent="a2")
    engine = make_engine(settings.db.url)
    sessions = make_sessionmaker(engine)
    recorder = Recorder(None, TEST_KEYS, sessions, TicketService(sessions))  # type: ignore[arg-type]
    try:
        for fact in facts:
            await recorder.apply(fact)
        async with sessions.begin() as session:  # the transfer row the ledger writes with Redis
            call_id = (
                await session.execute(select(Call.id).where(Call.linkedid == "1.3"))
            ).scalar()
            session.add(
                Transfer(
                    call_id=call_id,
                    n=1,
                    from_agent="a1",
                    to="600",
                    mode="blind",
                    how="blind",
                    outcome="completed",
                    at=BASE + timedelta(minutes=40),
                )
            )
    finally:
        await engine.dispose()


async def log(client, role="supervisor", **params):
    headers = auth(role) if role in TOKENS else {"Authorization": f"Bearer {role}"}
    return await client.get("/api/calls", params=params, headers=headers)


async def test_every_call_newest_first_with_its_story(client, settings) -> None:
    await record(settings)
    reply = await log(client)
    assert reply.status_code == 200, reply.text
    calls = reply.json()["calls"]
    assert [c["linkedid"] for c in calls] == ["1.5", "1.4", "1.3", "1.2", "1.1"]
    transferred = calls[2]
    assert transferred["caller_number"] == "+79000000003"
    assert transferred["caller_name"] == "Caller 3"
    assert transferred["uins"] == ["00000003"]
    assert [
        (e["queue"], e["wait_s"], e["wait_whole_s"], e["agent"])
        for e in transferred["queue_entries"]
    ] == [("hotline", 30.25, 31, "a1"), ("support", 4.0, 4, "b7")]
    assert transferred["agents"] == ["a1", "b7"]
    assert [(t["n"], t["from_agent"], t["to"]) for t in transferred["transfers"]] == [
        (1, "a1", "600")
    ]
    assert transferred["talk_s"] == 120.0 and transferred["outcome"] == "answered"
    assert transferred["survey"] == {"solved": True, "score": 5}
    abandoned = calls[3]
    assert abandoned["outcome"] == "abandoned" and abandoned["agents"] == []
    assert abandoned["survey"] is None
    assert reply.json()["next_cursor"] is None


async def test_keyset_pages_cover_every_call_once(client, settings) -> None:
    await record(settings)
    seen, cursor = [], None
    while True:
        params = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        body = (await log(client, **params)).json()
        seen += [c["linkedid"] for c in body["calls"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert seen == ["1.5", "1.4", "1.3", "1.2", "1.1"]


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"queue": "support"}, ["1.4", "1.3"]),
        ({"agent": "a1"}, ["1.3", "1.1"]),
        ({"agent": "b7"}, ["1.3"]),
        ({"outcome": "abandoned"}, ["1.2"]),
        ({"phone": "79000000004"}, ["1.4"]),
        ({"phone": "+79000000004"}, ["1.4"]),
        ({"uin": "00000005"}, ["1.5"]),
        ({"transferred": "true"}, ["1.3"]),
        ({"transferred": "false"}, ["1.5", "1.4", "1.2", "1.1"]),
        ({"from": "2026-03-02T12:20:00+03:00", "to": "2026-03-02T12:40:00+03:00"}, ["1.3", "1.2"]),
        ({"from": "2026-03-02T12:20:00"}, ["1.5", "1.4", "1.3", "1.2"]),  # the hotline's zone
        ({"queue": "nowhere"}, []),
        ({"agent": "nobody"}, []),
    ],
)
async def test_filters(client, settings, params, expected) -> None:
    await record(settings)
    reply = await log(client, **params)
    assert reply.status_code == 200, reply.text
    assert [c["linkedid"] for c in reply.json()["calls"]] == expected


async def test_an_agent_sees_its_own_calls(client, settings) -> None:
    await record(settings)
    reply = await log(client, AGENT_TOKEN)
    assert [c["linkedid"] for c in reply.json()["calls"]] == ["1.3", "1.1"]
    assert (await log(client, AGENT_TOKEN, agent="a2")).status_code == 403
    assert (await log(client, "agent")).status_code == 403  # a token naming no agent
    assert (await log(client, "service")).status_code == 403
    assert (await client.get("/api/calls")).status_code == 401


@pytest.mark.parametrize(
    ("params", "parameter"),
    [
        ({"cursor": "not-a-cursor"}, "cursor"),
        ({"outcome": "lost"}, "outcome"),
        ({"from": "2026-03-03T00:00:00Z", "to": "2026-03-02T00:00:00Z"}, "from"),
        ({"limit": 0}, "limit"),
    ],
)
async def test_bad_input_names_the_parameter(client, params, parameter) -> None:
    reply = await log(client, **params)
    assert reply.status_code == 422
    assert reply.json()["detail"][0]["loc"][-1] == parameter
