"""The recorder writes facts from the Redis stream onto calls and tickets, exactly once."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from redis.asyncio import Redis
from sqlalchemy import event, select

from core.bus import FactBus
from core.facts import (
    CallAbandoned,
    CallAnswered,
    CallCompleted,
    CallEnded,
    CallQueued,
    CallStarted,
    CallTicketed,
    CallTransferred,
)
from core.keys import RedisKeys
from crm.db import make_engine, make_sessionmaker
from crm.models import Call, QueueEntry, Ticket
from crm.models import CallContext as ContextCopy
from crm.recorder import Recorder
from crm.schemas import TicketCreate
from crm.service import TicketService
from tests.conftest import REDIS_TEST_URL

T0 = datetime(2026, 11, 23, 9, 0, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


class Harness:
    def __init__(self, redis: Redis, database_url: str, keys: RedisKeys) -> None:
        self.engine = make_engine(database_url)
        self.sessions = make_sessionmaker(self.engine)
        self.tickets = TicketService(self.sessions)
        self.redis = redis
        self.keys = keys
        self.bus = FactBus(redis, keys)
        self.now = at(0)
        self.recorder = self.make_recorder()

    def make_recorder(self, sessions=None, consumer: str = "recorder-1") -> Recorder:  # type: ignore[no-untyped-def]
        return Recorder(
            self.redis,
            self.keys,
            sessions or self.sessions,
            self.tickets,
            consumer=consumer,
            orphan_after_s=60,
            clock=lambda: self.now,
        )

    async def call(self, linkedid: str) -> Call:
        async with self.sessions() as session:
            return (
                await session.execute(select(Call).where(Call.linkedid == linkedid))
            ).scalar_one()

    async def entries(self, linkedid: str) -> list[QueueEntry]:
        async with self.sessions() as session:
            return list(
                (
                    await session.execute(
                        select(QueueEntry)
                        .join(Call)
                        .where(Call.linkedid == linkedid)
                        .order_by(QueueEntry.entry)
                    )
                ).scalars()
            )

    async def ticket_uin(self, call: Call) -> str | None:
        async with self.sessions() as session:
            ticket = await session.get(Ticket, call.ticket_id) if call.ticket_id else None
            return ticket.uin if ticket else None


@pytest.fixture
async def h(database_url: str) -> AsyncIterator[Harness]:
    redis = Redis.from_url(REDIS_TEST_URL)
    keys = RedisKeys(f"test-facts-{uuid.uuid4().hex[:8]}")
    harness = Harness(redis, database_url, keys)
    await harness.recorder.ensure_group()
    yield harness
    await redis.delete(keys.facts, keys.dead_letters)
    await redis.aclose()
    await harness.engine.dispose()


def answered_call(linkedid: str, uin: str) -> list[object]:
    return [
        CallStarted(
            linkedid=linkedid,
            channel="PJSIP/trunk-00000001",
            caller_num="79000000001",
            caller_name="Алиса",
            at=at(0),
        ),
        CallTicketed(linkedid=linkedid, uin=uin),
        CallQueued(linkedid=linkedid, queue="hotline", position=1, at=at(12)),
        CallAnswered(
            linkedid=linkedid,
            queue="hotline",
            agent="Local/agent1@agents",
            wait_s=31.5,
            at=at(43.5),
        ),
        CallEnded(linkedid=linkedid, talk_s=120.0, hung_up_by="caller", at=at(163.5)),
    ]


async def test_a_whole_call_lands_on_its_ticket(h: Harness) -> None:
    ticket = await h.tickets.register_ticket(TicketCreate(category="ZnK", priority=3), "agi")
    for fact in answered_call("1795311765.1", ticket.uin):
        await h.bus.publish(fact)  # type: ignore[arg-type]
    assert await h.recorder.process(block_ms=100) == 5
    call = await h.call("1795311765.1")
    assert await h.ticket_uin(call) == ticket.uin
    assert (call.caller_number, call.caller_name) == ("79000000001", "Алиса")
    assert call.queue == "hotline" and call.queued_at == at(12)
    assert call.answered_at == at(43.5) and call.wait_s == 31.5
    assert call.agent == "Local/agent1@agents" and call.outcome == "answered"
    assert call.ended_at == at(163.5) and call.talk_s == 120.0 and call.hung_up_by == "caller"
    [entry] = await h.entries("1795311765.1")
    assert (entry.queue, entry.outcome, entry.wait_s) == ("hotline", "answered", 31.5)
    pending = await h.redis.xpending(h.bus.stream, "recorder")
    assert pending["pending"] == 0  # everything acknowledged after commit


async def test_an_agent_complete_after_the_end_adds_its_talk(h: Harness) -> None:
    """app_queue may send the caller's AgentComplete after the caller's Hangup: the call
    ended with no talk of that entry, and its `completed` (talk 4 s) adds it; told twice,
    once."""
    ticket = await h.tickets.register_ticket(TicketCreate(category="ZnK", priority=3), "agi")
    facts = answered_call("1795311765.9", ticket.uin)
    facts[-1] = CallEnded(linkedid="1795311765.9", talk_s=0.0, hung_up_by="caller", at=at(48))
    late = CallCompleted(
        linkedid="1795311765.9",
        queue="hotline",
        agent="Local/agent1@agents",
        talk_s=4.0,
        reason="caller",
        at=at(48.2),
    )
    for fact in [*facts, late, late]:
        await h.bus.publish(fact)  # type: ignore[arg-type]
    await h.recorder.process(block_ms=100)
    call = await h.call("1795311765.9")
    assert call.ended_at == at(48) and call.talk_s == 4.0
    [entry] = await h.entries("1795311765.9")
    assert entry.completed_at == at(48.2)


async def test_a_fact_delivered_twice_changes_nothing(h: Harness) -> None:
    ticket = await h.tickets.register_ticket(TicketCreate(category="ZnK", priority=3), "agi")
    facts = answered_call("1795311765.2", ticket.uin)
    for fact in facts + facts[2:4]:
        await h.bus.publish(fact)  # type: ignore[arg-type]
    await h.recorder.process(block_ms=100)
    assert h.recorder.stats.applied == 5 and h.recorder.stats.duplicates == 2
    assert len(await h.entries("1795311765.2")) == 1
    assert (await h.call("1795311765.2")).wait_s == 31.5


async def test_transfer_into_a_queue_is_a_second_entry_on_the_same_ticket(h: Harness) -> None:
    ticket = await h.tickets.register_ticket(TicketCreate(category="INC", priority=2), "agi")
    linkedid = "1795311765.3"
    for fact in [
        *answered_call(linkedid, ticket.uin)[:4],
        CallTransferred(
            linkedid=linkedid, n=1, how="blind", from_agent="agent1", to="support", at=at(60)
        ),
        CallQueued(linkedid=linkedid, queue="support", position=1, entry=2, at=at(61)),
        CallAbandoned(
            linkedid=linkedid,
            queue="support",
            wait_s=9.0,
            position=1,
            original_position=1,
            entry=2,
            at=at(70),
        ),
    ]:
        await h.recorder.apply(fact)  # type: ignore[arg-type]
    first, second = await h.entries(linkedid)
    assert (first.queue, first.outcome) == ("hotline", "answered")
    assert (second.queue, second.outcome, second.wait_s) == ("support", "abandoned", 9.0)
    call = await h.call(linkedid)
    assert call.transfer_count == 1
    assert call.outcome == "answered" and call.wait_s == 31.5  # the first answer stands


async def test_an_unreadable_fact_goes_to_dead_letters_and_does_not_block(h: Harness) -> None:
    await h.redis.xadd(h.bus.stream, {"kind": "?", "fact": b'{"kind": "exploded"}'})
    await h.bus.publish(CallStarted(linkedid="1795311765.4", channel="x", at=at(0)))
    assert await h.recorder.process(block_ms=100) == 2
    assert h.recorder.stats.dead == 1
    dead = await h.redis.xrange(h.keys.dead_letters)
    assert dead[-1][1][b"fact"] == b'{"kind": "exploded"}'
    assert (await h.call("1795311765.4")).started_at == at(0)


async def test_nothing_is_acknowledged_when_the_database_fails(h: Harness) -> None:
    await h.bus.publish(CallStarted(linkedid="1795311765.5", channel="x", at=at(0)))
    broken_engine = make_engine("postgresql+asyncpg://postgres@127.0.0.1:1/none")
    broken = h.make_recorder(make_sessionmaker(broken_engine))
    with pytest.raises(OSError):
        await broken.process(block_ms=100)
    await broken_engine.dispose()
    assert (await h.redis.xpending(h.bus.stream, "recorder"))["pending"] == 1
    # The same consumer, its database back, records what it had not acknowledged.
    assert await h.recorder.process(pending=True) == 1
    assert (await h.call("1795311765.5")).started_at == at(0)
    assert (await h.redis.xpending(h.bus.stream, "recorder"))["pending"] == 0


async def test_a_call_without_ticket_gets_its_own_after_the_timeout(h: Harness) -> None:
    await h.recorder.apply(
        CallStarted(
            linkedid="1795311765.6",
            channel="x",
            caller_num="89000000007",
            caller_name="Борис",
            at=at(0),
        )
    )
    h.now = at(30)
    assert await h.recorder.settle_orphans() == 0  # still within the wait for `ticketed`
    assert (await h.call("1795311765.6")).ticket_id is None
    h.now = at(61)
    assert await h.recorder.settle_orphans() == 1
    call = await h.call("1795311765.6")
    uin = await h.ticket_uin(call)
    ticket = await h.tickets.get_ticket(uin or "")
    assert ticket.caller_phone == "+79000000007" and ticket.caller_name == "Борис"
    assert await h.recorder.settle_orphans() == 0  # settled once


async def test_an_announced_uin_waits_for_its_ticket(h: Harness) -> None:
    """The caller heard a UIN (from a reserved block): no second ticket, link when it exists."""
    await h.recorder.apply(CallStarted(linkedid="1795311765.7", channel="x", at=at(0)))
    await h.recorder.apply(CallTicketed(linkedid="1795311765.7", uin="00077777"))
    h.now = at(600)
    assert await h.recorder.settle_orphans() == 0
    assert (await h.call("1795311765.7")).ticket_id is None
    async with h.sessions.begin() as session:
        session.add(
            Ticket(uin="00077777", channel="phone", category="ZnK", priority=3, status="registered")
        )
    assert await h.recorder.settle_orphans() == 1
    assert await h.ticket_uin(await h.call("1795311765.7")) == "00077777"


async def test_survey_answers_land_on_the_call_and_its_ticket(h: Harness) -> None:
    from core.facts import CallRated

    ticket = await h.tickets.register_ticket(TicketCreate(category="ZnK", priority=3), "agi")
    for fact in answered_call("1795311765.8", ticket.uin):
        await h.recorder.apply(fact)  # type: ignore[arg-type]
    await h.recorder.apply(CallRated(linkedid="1795311765.8", solved=False, score=2))
    call = await h.call("1795311765.8")
    assert (call.solved, call.score) == (False, 2)
    events = await h.tickets.ticket_events(ticket.uin)
    [rated] = [e for e in events if e.action == "rated"]
    assert rated.data == {"solved": False, "score": 2} and rated.actor == "survey"


# --- one transaction per read ------------------------------------------------------------


async def test_a_duplicate_inside_one_read_is_recorded_once(h: Harness) -> None:
    """The first of two facts with one key wins, in the same read as across reads."""
    ticket = await h.tickets.register_ticket(TicketCreate(category="ZnK", priority=3), "agi")
    linkedid = "1795311765.20"
    started, ticketed, queued, answered, ended = answered_call(linkedid, ticket.uin)
    again = CallAnswered(
        linkedid=linkedid, queue="hotline", agent="Local/agent9@agents", wait_s=99.0, at=at(99)
    )
    await h.bus.publish(started)  # type: ignore[arg-type]
    assert await h.recorder.process(block_ms=100) == 1
    for fact in (ticketed, started, queued, answered, again, ended):
        await h.bus.publish(fact)  # type: ignore[arg-type]
    assert await h.recorder.process(block_ms=100) == 6
    assert (h.recorder.stats.applied, h.recorder.stats.duplicates) == (5, 2)
    call = await h.call(linkedid)
    assert call.agent == "Local/agent1@agents" and call.wait_s == 31.5  # not the 2nd answer
    assert call.answered_at == at(43.5) and call.ended_at == at(163.5)
    [entry] = await h.entries(linkedid)
    assert (entry.outcome, entry.wait_s) == ("answered", 31.5)
    assert await h.ticket_uin(call) == ticket.uin
    assert (await h.redis.xpending(h.bus.stream, "recorder"))["pending"] == 0


async def test_an_unreadable_fact_inside_a_read_spares_the_others(h: Harness) -> None:
    ticket = await h.tickets.register_ticket(TicketCreate(category="ZnK", priority=3), "agi")
    linkedid = "1795311765.21"
    facts = answered_call(linkedid, ticket.uin)
    for fact in facts[:2]:
        await h.bus.publish(fact)  # type: ignore[arg-type]
    bad_id = await h.redis.xadd(h.bus.stream, {"kind": "?", "fact": b'{"kind": "queued"}'})
    for fact in facts[2:]:
        await h.bus.publish(fact)  # type: ignore[arg-type]
    assert await h.recorder.process(block_ms=100) == 6
    assert (h.recorder.stats.applied, h.recorder.stats.dead) == (5, 1)
    [(_, dead)] = [e for e in await h.redis.xrange(h.keys.dead_letters) if e[1][b"from"] == bad_id]
    assert dead[b"fact"] == b'{"kind": "queued"}'
    call = await h.call(linkedid)
    assert call.outcome == "answered" and call.ended_at == at(163.5)
    assert len(await h.entries(linkedid)) == 1
    assert (await h.redis.xpending(h.bus.stream, "recorder"))["pending"] == 0


async def test_a_batch_that_hits_an_integrity_error_records_every_fact_once(
    h: Harness, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    ticket = await h.tickets.register_ticket(TicketCreate(category="ZnK", priority=3), "agi")
    linkedid = "1795311765.23"
    facts = answered_call(linkedid, ticket.uin)
    for fact in facts:
        await h.bus.publish(fact)  # type: ignore[arg-type]
    # The other recorder is another process: its own engine (on SQLite one engine has one
    # connection, and this one is held by the batch).
    other_engine = make_engine(database_url)
    other = h.make_recorder(make_sessionmaker(other_engine), consumer="recorder-2")
    looked = Recorder._existing_calls
    raced = []

    async def racing_look(self: Recorder, session, linkedids):  # type: ignore[no-untyped-def]
        calls = await looked(self, session, linkedids)
        if self is h.recorder and not raced:
            # Another recorder, given the same `started` fact (a re-delivery), writes the
            # call and the fact's key after this batch looked for them.
            raced.append(await other.apply(facts[0]))  # type: ignore[arg-type]
        return calls

    monkeypatch.setattr(Recorder, "_existing_calls", racing_look)
    try:
        assert await h.recorder.process(block_ms=100) == 5
    finally:
        await other_engine.dispose()
    assert raced == [True]
    assert (other.stats.applied, h.recorder.stats.applied) == (1, 4)
    assert h.recorder.stats.duplicates == 1  # `started`, written by the other one
    call = await h.call(linkedid)
    assert (call.caller_number, call.started_at) == ("79000000001", at(0))
    assert call.outcome == "answered" and call.wait_s == 31.5 and call.ended_at == at(163.5)
    assert await h.ticket_uin(call) == ticket.uin
    assert len(await h.entries(linkedid)) == 1
    async with h.sessions() as session:
        calls = (await session.execute(select(Call).where(Call.linkedid == linkedid))).all()
    assert len(calls) == 1
    assert (await h.redis.xpending(h.bus.stream, "recorder"))["pending"] == 0


class _CrashOnAck:
    """The recorder's Redis, dying at the XACK: what a crash after the commit looks like."""

    def __init__(self, redis: Redis, h: Harness, linkedid: str) -> None:
        self._redis, self._h, self._linkedid = redis, h, linkedid
        self.committed_at_ack: Call | None = None

    def __getattr__(self, name: str) -> object:
        return getattr(self._redis, name)

    async def xack(self, *args: object) -> int:
        self.committed_at_ack = await self._h.call(self._linkedid)  # visible to others
        raise ConnectionError("the recorder died before XACK")


async def test_acks_follow_the_commit_and_a_redelivery_records_nothing_twice(h: Harness) -> None:
    ticket = await h.tickets.register_ticket(TicketCreate(category="ZnK", priority=3), "agi")
    linkedid = "1795311765.24"
    facts = answered_call(linkedid, ticket.uin)
    for fact in facts:
        await h.bus.publish(fact)  # type: ignore[arg-type]
    crashing = _CrashOnAck(h.redis, h, linkedid)
    doomed = Recorder(
        crashing,  # type: ignore[arg-type]
        h.keys,
        h.sessions,
        h.tickets,
        clock=lambda: h.now,
    )
    with pytest.raises(ConnectionError):
        await doomed.process(block_ms=100)
    assert crashing.committed_at_ack is not None  # the XACK came after the commit
    assert crashing.committed_at_ack.ended_at == at(163.5)
    assert doomed.stats.applied == 5
    assert (await h.redis.xpending(h.bus.stream, "recorder"))["pending"] == 5
    # Restarted, the same consumer reads its unacknowledged facts again: nothing changes.
    assert await h.recorder.process(pending=True) == 5
    assert (h.recorder.stats.applied, h.recorder.stats.duplicates) == (0, 5)
    assert (await h.redis.xpending(h.bus.stream, "recorder"))["pending"] == 0
    call = await h.call(linkedid)
    assert call.wait_s == 31.5 and call.ended_at == at(163.5)
    assert len(await h.entries(linkedid)) == 1


async def test_the_callers_number_told_later_wins_over_unknown(h: Harness) -> None:
    """`started` told with `<unknown>` (Newchannel), again with the number (NewCallerid),
    then an older tracker's `<unknown>` once more: the number stays, the start is the first."""
    linkedid = "1795311765.77"

    def started(num: str, name: str, seconds: float = 0) -> CallStarted:
        channel = "Local/100@hotline-in-00000000;1"
        return CallStarted(
            linkedid=linkedid, channel=channel, caller_num=num, caller_name=name, at=at(seconds)
        )

    await h.bus.publish(started("", ""))
    await h.bus.publish(started("79000000001", "Алиса"))
    await h.bus.publish(started("<unknown>", "<unknown>", seconds=5))
    assert await h.recorder.process(block_ms=100) == 3
    call = await h.call(linkedid)
    assert (call.caller_number, call.caller_name, call.started_at) == (
        "79000000001",
        "Алиса",
        at(0),
    )
    await h.bus.publish(started("+79000000001", "Алиса Петрова"))  # the dialplan set it again
    assert await h.recorder.process(block_ms=100) == 1
    call = await h.call(linkedid)
    assert (call.caller_number, call.caller_name) == ("+79000000001", "Алиса Петрова")


async def test_the_agi_environments_caller_id_fills_an_unknown_one(h: Harness) -> None:
    """No caller ID from AMI (`<unknown>` only): the AGI route's `ticketed` names the caller;
    a later `<unknown>` does not erase it."""
    linkedid = "1795311765.78"
    channel = "Local/100@hotline-in-00000000;1"
    await h.bus.publish(
        CallStarted(
            linkedid=linkedid,
            channel=channel,
            caller_num="<unknown>",
            caller_name="<unknown>",
            at=at(0),
        )
    )
    await h.bus.publish(
        CallTicketed(
            linkedid=linkedid, uin="00000042", caller_num="79000000001", caller_name="Алиса"
        )
    )
    await h.bus.publish(CallStarted(linkedid=linkedid, channel=channel, at=at(0)))
    assert await h.recorder.process(block_ms=100) == 3
    call = await h.call(linkedid)
    assert (call.caller_number, call.caller_name) == ("79000000001", "Алиса")


async def test_a_caller_who_names_an_existing_request_lands_on_it(h: Harness) -> None:
    """Told a new UIN, then the caller named their request: the call is that request's,
    the new ticket withdrawn into it, in whichever order the facts and the withdrawal come."""
    existing = await h.tickets.register_ticket(TicketCreate(category="ZnK", priority=3), "agi")
    # In one read (the prefetch path): the new UIN told, then the named one.
    new = await h.tickets.register_ticket(TicketCreate(category="ZnK", priority=3), "agi")
    await h.bus.publish(CallStarted(linkedid="1795311765.31", channel="x", at=at(0)))
    await h.bus.publish(CallTicketed(linkedid="1795311765.31", uin=new.uin))
    await h.bus.publish(CallTicketed(linkedid="1795311765.31", uin=existing.uin, attached=True))
    assert await h.recorder.process(block_ms=100) == 3
    assert await h.ticket_uin(await h.call("1795311765.31")) == existing.uin
    # Fact by fact, the new one first and linked, the withdrawal after the facts.
    late = await h.tickets.register_ticket(TicketCreate(category="ZnK", priority=3), "agi")
    await h.recorder.apply(CallStarted(linkedid="1795311765.32", channel="x", at=at(0)))
    await h.recorder.apply(CallTicketed(linkedid="1795311765.32", uin=late.uin))
    assert await h.ticket_uin(await h.call("1795311765.32")) == late.uin
    await h.recorder.apply(CallTicketed(linkedid="1795311765.32", uin=existing.uin, attached=True))
    await h.tickets.withdraw(late.uin, existing.uin, "test", "service")
    assert await h.ticket_uin(await h.call("1795311765.32")) == existing.uin
    # The withdrawal first, then only the new UIN's fact (the named one's still to come):
    # the withdrawn UIN leads to the ticket it went into.
    early = await h.tickets.register_ticket(TicketCreate(category="ZnK", priority=3), "agi")
    await h.tickets.withdraw(early.uin, existing.uin, "test", "service")
    await h.recorder.apply(CallStarted(linkedid="1795311765.33", channel="x", at=at(0)))
    await h.recorder.apply(CallTicketed(linkedid="1795311765.33", uin=early.uin))
    assert await h.ticket_uin(await h.call("1795311765.33")) == existing.uin


async def test_a_new_calls_context_copy_is_one_insert_of_the_batch(h: Harness) -> None:
    """A batch looked the call's context copy up already (none): the copy is made by the
    batch's flush, one INSERT, not insert-nothing, read back and update (three statements
    for each of the demo's 2,000 calls)."""
    ticket = await h.tickets.register_ticket(TicketCreate(category="ZnK", priority=3), "agi")
    statements: list[str] = []

    @event.listens_for(h.engine.sync_engine, "before_cursor_execute")
    def _count(_conn, _cursor, statement, _params, _context, _many):  # type: ignore[no-untyped-def]
        statements.append(" ".join(statement.split()))

    await h.bus.publish_many(answered_call("1795311765.7", ticket.uin))  # type: ignore[arg-type]
    assert await h.recorder.process(block_ms=100) == 5
    event.remove(h.engine.sync_engine, "before_cursor_execute", _count)
    writes = [s for s in statements if "call_contexts" in s and not s.startswith("SELECT")]
    assert len(writes) == 1 and writes[0].startswith("INSERT INTO call_contexts"), writes
    async with h.sessions() as session:
        copy = await session.get(ContextCopy, "1795311765.7")
    assert copy is not None and copy.uin == ticket.uin and copy.transfer_count == 0
