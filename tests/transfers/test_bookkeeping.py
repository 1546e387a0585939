"""Transfer bookkeeping without races (issue 13, item 7), on SQLite and PostgreSQL.

On a real Asterisk the `BlindTransfer` event follows the AMI action's response within
milliseconds, so the recorder may write the transfer before the API that asked for it,
after it, or at the same moment. Each order is made here on purpose (the fake AMI runs
the recorder inside the action, or not, or holds its transaction open), never left to
timing: the transfer is one row, counted once, and the API never fails on it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from redis.asyncio import Redis
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.context.store import CallContextStore
from core.facts import CallAnswered, CallTransferred
from core.settings import Settings, TransferSettings
from crm.db import make_engine, make_sessionmaker
from crm.models import Call, CallContext, Transfer
from crm.recorder import Recorder
from crm.recorder.calls import lock_call
from crm.service import TicketService
from crm.transfers.errors import TransferLimitReached
from crm.transfers.ledger import TransferLedger
from crm.transfers.schemas import TransferCreate
from crm.transfers.service import TransferService
from tests.conftest import TEST_KEYS
from tests.transfers.conftest import CONTEXT

LINKEDID = "1796000000.11"
CALLER = "Local/100@hotline-in-00000001;2"
T0 = datetime(2026, 12, 6, 9, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0.replace(second=int(seconds))


class FakeAmi:
    """Asterisk's side of the API's transfer: the call's channels, and `BlindTransfer`,
    which runs `during` before it answers (the event that comes before the response)."""

    def __init__(self) -> None:
        self.agent = "agent01"
        self.during: Callable[[], Awaitable[None]] | None = None
        self.sent: list[dict[str, str]] = []

    async def __call__(self, action: dict[str, str], as_list: bool = False) -> Any:
        self.sent.append(dict(action))
        if action["Action"] == "CoreShowChannels":
            agent = f"PJSIP/{self.agent}-0000000{len(self.sent)}"
            return [
                {"Event": "CoreShowChannel", "Linkedid": LINKEDID, "Channel": c}
                for c in (CALLER, agent)
            ]
        if action["Action"] == "BlindTransfer" and self.during is not None:
            during, self.during = self.during, None
            await during()
        return {"Response": "Success"}


@dataclass
class Books:
    service: TransferService
    recorder: Recorder
    ledger: TransferLedger
    sessions: async_sessionmaker[AsyncSession]
    store: CallContextStore
    ami: FakeAmi
    url: str

    def fact(self, n: int, to: str, from_agent: str, s: float) -> CallTransferred:
        """The tracker's fact of the API's blind transfer (Asterisk's BlindTransfer)."""
        return CallTransferred(
            linkedid=LINKEDID,
            n=n,
            how="blind",
            from_agent=from_agent,
            to=to,
            dialplan_context="hotline-targets",
            at=at(s),
        )

    async def transfer(self, agent: str, to: str, **context: str) -> int:
        body = TransferCreate(to=to, mode="blind", **{**CONTEXT, **context})
        self.ami.agent = agent
        return (await self.service.transfer(LINKEDID, "agent", agent, body)).n

    async def rows(self) -> tuple[Call, list[Transfer], CallContext | None]:
        async with self.sessions() as session:
            call = (
                await session.execute(select(Call).where(Call.linkedid == LINKEDID))
            ).scalar_one()
            rows = (await session.execute(select(Transfer).order_by(Transfer.n))).scalars().all()
            copy = await session.get(CallContext, LINKEDID)
        return call, list(rows), copy


@pytest.fixture
async def books(settings: Settings, redis: Redis) -> AsyncIterator[Books]:
    engine = make_engine(settings.db.url)
    sessions = make_sessionmaker(engine)
    transfers = TransferSettings(reservation_s=60)
    ledger = TransferLedger.build(redis, TEST_KEYS, transfers)
    recorder = Recorder(redis, TEST_KEYS, sessions, TicketService(sessions), transfers=ledger)
    ami = FakeAmi()
    service = TransferService(sessions, redis, TEST_KEYS, transfers, ami, lambda: at(30))
    store = service.store
    # The caller was answered by agent01 (the screen pops keep who has the caller).
    await store.update(LINKEDID, agent="agent01", uin="000123")
    await recorder.apply(
        CallAnswered(linkedid=LINKEDID, queue="hotline", agent="agent01", wait_s=4.0, at=at(10))
    )
    yield Books(service, recorder, ledger, sessions, store, ami, settings.db.url)
    await engine.dispose()


async def _one_transfer_recorded(books: Books, fact: CallTransferred) -> None:
    call, rows, copy = await books.rows()
    assert [(t.n, t.how, t.from_agent, t.to, t.outcome) for t in rows] == [
        (1, "api", "agent01", "202", "completed")
    ]
    assert rows[0].at == fact.at, "Asterisk's moment, not the API's clock"
    assert rows[0].context is not None and rows[0].context["summary"] == CONTEXT["summary"]
    assert call.transfer_count == 1
    assert (call.agent, call.agents) == ("agent02", ["agent01", "agent02"])
    ctx = await books.store.get(LINKEDID)
    assert ctx is not None and ctx.count == 1, "counted once"
    assert copy is not None and copy.transfer_count == 1


async def test_the_event_recorded_before_the_api_answers(books: Books) -> None:
    fact = books.fact(1, "202", "agent01", 31)

    async def recorder_first() -> None:
        assert await books.recorder.apply(fact)

    books.ami.during = recorder_first
    assert await books.transfer("agent01", "agent02") == 1
    await _one_transfer_recorded(books, fact)


async def test_the_api_recorded_before_the_event(books: Books) -> None:
    fact = books.fact(1, "202", "agent01", 31)
    assert await books.transfer("agent01", "202") == 1
    _call, rows, _copy = await books.rows()
    assert [(t.n, t.outcome) for t in rows] == [(1, "made")]
    assert await books.recorder.apply(fact)
    assert not await books.recorder.apply(fact), "a fact delivered twice changes nothing"
    await _one_transfer_recorded(books, fact)


async def test_the_recorder_and_the_api_at_the_same_moment(books: Books) -> None:
    """The recorder's transaction has written the transfer and not committed when the API
    records it: the API waits for it and then finds it (before: a duplicate key, HTTP 500).
    PostgreSQL shows the wait in `pg_locks`; SQLite has one writer at a time (a second
    engine: its own connection) and the API's write waits for the file lock."""
    fact = books.fact(1, "202", "agent01", 31)
    written, release = asyncio.Event(), asyncio.Event()
    other = make_engine(books.url)
    recorder_sessions = make_sessionmaker(other)

    async def recorder_holding() -> None:
        read = await books.ledger.read([fact])
        async with recorder_sessions.begin() as session:
            read.attach(session)
            call = await lock_call(session, LINKEDID)
            await books.ledger.on_transferred(session, call, fact)
            await session.flush()
            written.set()
            await release.wait()

    holder: list[asyncio.Task[None]] = []

    async def event_now() -> None:
        holder.append(asyncio.create_task(recorder_holding()))
        await written.wait()

    async def let_go_once_the_api_waits() -> None:
        if books.url.startswith("postgresql"):
            async with other.connect() as conn:
                for _ in range(500):
                    waiting = await conn.scalar(
                        text("SELECT count(*) FROM pg_locks WHERE NOT granted")
                    )
                    if waiting:
                        break
                    await asyncio.sleep(0.01)
                assert waiting, "the API never waited for the recorder's transaction"
        else:
            await asyncio.sleep(0.3)  # the API's write is queued behind the file lock
        release.set()

    books.ami.during = event_now
    releaser = asyncio.create_task(let_go_once_the_api_waits())
    try:
        assert await asyncio.wait_for(books.transfer("agent01", "202"), 30) == 1
    finally:
        release.set()
        await releaser
        await asyncio.gather(*holder)
        await other.dispose()
    await _one_transfer_recorded(books, fact)


async def test_the_recorder_holding_the_call_when_the_api_records(books: Books) -> None:
    """The recorder has locked the call (its batch's first step) and writes the transfer
    only after the API has begun recording it. The API must wait for the call's lock
    before it takes the transfer's key: the other way round the two wait for each other
    (on the real Asterisk: PostgreSQL found a deadlock and the API answered 500)."""
    fact = books.fact(1, "202", "agent01", 31)
    locked, go_on = asyncio.Event(), asyncio.Event()
    other = make_engine(books.url)
    recorder_sessions = make_sessionmaker(other)

    async def recorder_locked_first() -> None:
        read = await books.ledger.read([fact])
        async with recorder_sessions.begin() as session:
            read.attach(session)
            call = await lock_call(session, LINKEDID)
            locked.set()
            await go_on.wait()
            await books.ledger.on_transferred(session, call, fact)

    holder: list[asyncio.Task[None]] = []

    async def event_now() -> None:
        holder.append(asyncio.create_task(recorder_locked_first()))
        await locked.wait()

    books.ami.during = event_now
    releaser = asyncio.create_task(_once_someone_waits(books.url, other, go_on))
    try:
        assert await asyncio.wait_for(books.transfer("agent01", "202"), 30) == 1
    finally:
        go_on.set()
        await releaser
        await asyncio.gather(*holder)  # the recorder's write did not fail either
        await other.dispose()
    await _one_transfer_recorded(books, fact)


async def _once_someone_waits(url: str, engine: Any, release: asyncio.Event) -> None:
    """Set `release` once a transaction waits for a lock (PostgreSQL), or after a moment
    (SQLite: the API's write waits behind the file lock)."""
    if url.startswith("postgresql"):
        async with engine.connect() as conn:
            for _ in range(500):
                if await conn.scalar(text("SELECT count(*) FROM pg_locks WHERE NOT granted")):
                    break
                await asyncio.sleep(0.01)
            else:
                raise AssertionError("nobody waited for a lock")
    else:
        await asyncio.sleep(0.3)
    release.set()


async def test_a_refused_third_transfer_leaves_the_filed_context(books: Books) -> None:
    assert await books.transfer("agent01", "202", summary="first") == 1
    await books.recorder.apply(books.fact(1, "202", "agent01", 31))
    assert await books.transfer("agent02", "201", summary="second") == 2
    await books.recorder.apply(books.fact(2, "201", "agent02", 41))
    with pytest.raises(TransferLimitReached):
        await books.transfer("agent01", "300", summary="third: never made")
    ctx = await books.store.get(LINKEDID)
    assert ctx is not None and (ctx.summary, ctx.count, ctx.refused) == ("second", 2, 1)
    call, rows, copy = await books.rows()
    assert copy is not None and (copy.summary, copy.transfers_refused) == ("second", 1)
    assert [(t.n, t.to, t.context["summary"]) for t in rows if t.context] == [
        (1, "202", "first"),
        (2, "201", "second"),
    ]
    assert call.transfer_count == 2
    assert (call.agent, call.agents) == ("agent01", ["agent01", "agent02", "agent01"])
