"""One worker on SQLite and PostgreSQL: closure needs reminders that were really sent."""

from __future__ import annotations

import asyncio
from datetime import datetime

import httpx

from core.settings import Settings
from crm.db import make_engine
from crm.lifecycle.mail import Mailer
from crm.sla import BusinessCalendar
from hotline.bootstrap import create_worker
from tests.conftest import auth
from tests.lifecycle.conftest import DAY_S, FakeClock, new_ticket, outbox, post


class FakeMailer(Mailer):
    """Keeps what it is asked to send; `down` makes every send fail."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []
        self.down = False

    async def send(self, to_addr: str, subject: str, body: str) -> None:
        if self.down:
            raise ConnectionRefusedError("the SMTP server is down")
        self.sent.append((to_addr, subject))


async def test_no_closure_until_two_reminders_were_actually_sent(
    lc: httpx.AsyncClient, lc_settings: Settings, clock: FakeClock, database_url: str
) -> None:
    cal = BusinessCalendar()
    t0 = clock.now
    uin = (await new_ticket(lc, caller_email="dan@example.ru", priority=1))["uin"]
    assert (await post(lc, uin, "resolve", {"solution": "Готово"})).status_code == 200
    mailer = FakeMailer()
    mailer.down = True
    engine = make_engine(database_url)

    def at(days: float) -> datetime:
        return cal.add(t0, days * DAY_S)

    try:
        worker = create_worker(lc_settings, engine, clock, mailer)
        for day in (10, 20, 30, 31):
            done = await worker.run_once(at(day))
            assert "closed" not in done  # the caller was never actually asked
        ticket = (await lc.get(f"/api/tickets/{uin}", headers=auth("agent"))).json()
        assert ticket["status"] == "resolved"
        notes = await outbox(database_url, uin)
        assert [n.kind for n in notes] == ["solution"] + ["confirmation_reminder"] * 2
        assert all(n.sent_at is None and n.attempts >= 1 and n.last_error for n in notes)
        mailer.down = False
        done = await worker.run_once(at(32))
        assert done["sent"] == 3 and done["closed"] == 0  # sent now; closing comes next round
        assert (await worker.run_once(at(32.1)))["closed"] == 1
    finally:
        await engine.dispose()
    assert [subject.count(uin) for _to, subject in mailer.sent] == [1, 1, 1]
    ticket = (await lc.get(f"/api/tickets/{uin}", headers=auth("agent"))).json()
    assert ticket["status"] == "closed" and ticket["confirmed_at"] is None


async def test_escalation_without_a_line_address_is_a_notice_only(
    lc: httpx.AsyncClient, lc_settings: Settings, clock: FakeClock, database_url: str
) -> None:
    uin = (await new_ticket(lc, category="INC", priority=1))["uin"]
    mailer = FakeMailer()
    engine = make_engine(database_url)
    try:
        worker = create_worker(lc_settings, engine, clock, mailer)
        done = await worker.run_once(BusinessCalendar().add(clock.now, 0.8 * DAY_S))
    finally:
        await engine.dispose()
    assert done["escalated"] == 1 and mailer.sent == []
    [note] = await outbox(database_url, uin)
    assert note.kind == "escalation" and note.to_addr is None and uin in note.subject
    assert (await lc.get(f"/api/tickets/{uin}", headers=auth("agent"))).json()["line"] == 2


async def test_run_loops_until_stopped_without_waiting_out_the_interval(
    lc_settings: Settings, clock: FakeClock, database_url: str
) -> None:
    from collections import Counter

    from crm.db import make_sessionmaker
    from crm.lifecycle.calendar import CalendarStore
    from crm.lifecycle.worker import Worker
    from hotline.bootstrap import confirmation_tokens

    rounds = asyncio.Event()

    class CountingWorker(Worker):
        async def run_once(self, now: datetime | None = None) -> Counter[str]:
            done = await super().run_once(now)
            rounds.set()
            return done

    slow = lc_settings.model_copy(
        update={"lifecycle": lc_settings.lifecycle.model_copy(update={"worker_interval_s": 3600})}
    )
    engine = make_engine(database_url)
    try:
        sessions = make_sessionmaker(engine)
        worker = CountingWorker(
            sessions,
            slow.lifecycle,
            CalendarStore(sessions, slow.calendar),
            confirmation_tokens(slow),
            FakeMailer(),
            clock,
        )
        stop = asyncio.Event()
        task = asyncio.create_task(worker.run(stop))
        await asyncio.wait_for(rounds.wait(), 10)
        stop.set()
        await asyncio.wait_for(task, 2)  # not an hour: the wait ends when stop is set
    finally:
        await engine.dispose()
    assert task.done() and task.exception() is None
