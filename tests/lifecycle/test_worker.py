"""The worker on PostgreSQL: two workers at once, a real SMTP server on loopback.

Each reminder, request, refusal, escalation and closure must happen exactly once and at
its business-time moment, and every e-mail must reach the SMTP server naming its UIN.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import os
import socket
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiosmtpd.controller import Controller

from core.settings import LifecycleSettings, MailSettings, Settings
from crm.db import make_engine
from crm.lifecycle.mail import SmtpMailer
from crm.lifecycle.worker import Worker
from crm.sla import BusinessCalendar
from hotline.bootstrap import create_worker
from tests.conftest import ROOT, _empty
from tests.lifecycle.conftest import DAY_S, SECRET, FakeClock, events, new_ticket, outbox, post


@pytest.fixture
def database_url(postgresql_url: str) -> Iterator[str]:
    """These tests are about PostgreSQL's row locks: PostgreSQL only."""
    yield postgresql_url
    asyncio.run(_empty(postgresql_url))


@dataclass
class Inbox:
    """What the loopback SMTP server received."""

    port: int
    messages: list[EmailMessage] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self.lock:
            self.messages.append(message)  # type: ignore[arg-type]
        return "250 Message accepted for delivery"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def smtp() -> Iterator[Inbox]:
    inbox = Inbox(port=free_port())
    controller = Controller(inbox, hostname="127.0.0.1", port=inbox.port)
    controller.start()
    yield inbox
    controller.stop()


@pytest.fixture
def lc_settings(settings: Settings) -> Settings:
    return settings.model_copy(
        update={
            "lifecycle": LifecycleSettings(
                secret_key=SECRET,
                public_url="https://hotline.example.ru",
                escalation_line2_email="line2@example.ru",
                escalation_line3_email="line3@example.ru",
            )
        }
    )


@pytest.fixture
async def workers(
    lc_settings: Settings, clock: FakeClock, smtp: Inbox
) -> AsyncIterator[tuple[Worker, Worker]]:
    """Two workers as two processes would be: each its own engine and connections."""
    mail = MailSettings(smtp_host="127.0.0.1", smtp_port=smtp.port, smtp_from="hotline@example.ru")
    engines = [make_engine(lc_settings.db.url) for _ in range(2)]
    pair = tuple(create_worker(lc_settings, e, clock, SmtpMailer(mail)) for e in engines)
    yield pair  # type: ignore[misc]
    for engine in engines:
        await engine.dispose()


async def both(pair: tuple[Worker, Worker], now: datetime) -> Counter[str]:
    """Both workers at once, twice: the second round must find nothing left to do."""
    total: Counter[str] = Counter()
    for _ in range(2):
        for done in await asyncio.gather(*(w.run_once(now) for w in pair)):
            total.update(done)
    return total


async def test_two_workers_do_each_step_exactly_once(
    lc: httpx.AsyncClient,
    clock: FakeClock,
    workers: tuple[Worker, Worker],
    smtp: Inbox,
    database_url: str,
) -> None:
    cal = BusinessCalendar()
    t0 = clock.now  # Wednesday 2026-11-25 10:00 MSK
    solved = (await new_ticket(lc, caller_email="alice@example.ru"))["uin"]
    assert (await post(lc, solved, "resolve", {"solution": "Обновите браузер"})).status_code == 200
    silent = (await new_ticket(lc, caller_email="bob@example.ru"))["uin"]
    asked = await post(lc, silent, "info-requests", {"question": "Пришлите номер договора"})
    assert asked.status_code == 201
    urgent = (await new_ticket(lc, category="INC", priority=1))["uin"]

    def at(days: float) -> datetime:
        return cal.add(t0, days * DAY_S)

    schedule = {
        "line 2": at(0.8),
        "line 3": at(0.9),
        "before info reminder": at(6.9),
        "info reminder": at(7),
        "reminder 1": at(10),
        "before refusal": at(13.9),
        "refusal": at(14),
        "reminder 2": at(20),
        "before closure": at(29.9),
        "closure": at(30),
        "after": at(31),
    }
    expected = {
        "line 2": {"escalated": 1, "sent": 3},  # + the solution and the first request
        "line 3": {"escalated": 1, "sent": 1},
        "before info reminder": {},
        "info reminder": {"info_requested": 1, "sent": 1},
        "reminder 1": {"reminded": 1, "sent": 1},
        "before refusal": {},
        "refusal": {"refused": 1, "sent": 1},
        "reminder 2": {"reminded": 1, "sent": 1},
        "before closure": {},
        "closure": {"closed": 1},
        "after": {},
    }
    for name, moment in schedule.items():
        clock.set(moment)
        assert dict(await both(workers, moment)) == expected[name], name

    # Exactly once, and at the business-time moment each was due.
    solved_log = await events(lc, solved)
    reminders = [e for e in solved_log if e["action"] == "confirmation_reminder"]
    assert [datetime.fromisoformat(e["at"]) for e in reminders] == [at(10), at(20)]
    [closing] = [e for e in solved_log if e["new_value"] == "closed"]
    assert closing["actor"] == "worker" and datetime.fromisoformat(closing["at"]) == at(30)
    silent_log = await events(lc, silent)
    requests = [e for e in silent_log if e["action"] == "info_requested"]
    assert [e["actor"] for e in requests] == ["agent", "worker"]
    [refusal] = [e for e in silent_log if e["new_value"] == "refused"]
    assert datetime.fromisoformat(refusal["at"]) == at(14)
    silent_ticket = (await lc.get(f"/api/tickets/{silent}", headers=_agent())).json()
    assert silent_ticket["refusal_reason"] == "no_information"
    urgent_log = await events(lc, urgent)
    lines = [(e["old_value"], e["new_value"]) for e in urgent_log if e["action"] == "escalated"]
    assert lines == [("1", "2"), ("2", "3")]
    assert (await lc.get(f"/api/tickets/{urgent}", headers=_agent())).json()["line"] == 3

    # Every e-mail arrived once, at the right address, naming its UIN.
    received = Counter((str(m["To"]), str(m["Subject"])) for m in smtp.messages)
    assert all(count == 1 for count in received.values()), received
    by_address = Counter(str(m["To"]) for m in smtp.messages)
    assert by_address == {
        "alice@example.ru": 3,  # solution, reminders 1 and 2
        "bob@example.ru": 3,  # requests 1 and 2, refusal
        "line2@example.ru": 1,
        "line3@example.ru": 1,
    }
    uin_of = {"alice@example.ru": solved, "bob@example.ru": silent}
    for message in smtp.messages:
        uin = uin_of.get(str(message["To"]), urgent)
        assert uin in str(message["Subject"]) and uin in message.get_content()
    notes = await outbox(database_url)
    assert len(notes) == 8 and all(n.sent_at is not None and n.attempts == 1 for n in notes)


async def test_a_failed_send_is_kept_and_retried(
    lc: httpx.AsyncClient, lc_settings: Settings, clock: FakeClock, smtp: Inbox, database_url: str
) -> None:
    uin = (await new_ticket(lc, caller_email="carol@example.ru"))["uin"]
    await post(lc, uin, "resolve", {"solution": "Перезагрузите модуль"})
    nowhere = MailSettings(smtp_host="127.0.0.1", smtp_port=free_port(), smtp_timeout_s=2)
    working = MailSettings(smtp_host="127.0.0.1", smtp_port=smtp.port)
    engine = make_engine(database_url)
    try:
        down = create_worker(lc_settings, engine, clock, SmtpMailer(nowhere))
        assert (await down.run_once())["send_failed"] == 1
        [note] = await outbox(database_url, uin)
        assert note.sent_at is None and note.attempts == 1 and note.last_error
        up = create_worker(lc_settings, engine, clock, SmtpMailer(working))
        assert "sent" not in await up.run_once()  # not before its next attempt is due
        later = await up.run_once(note.next_attempt_at)
        assert later["sent"] == 1
    finally:
        await engine.dispose()
    [note] = await outbox(database_url, uin)
    assert note.sent_at is not None and note.attempts == 2 and note.last_error is None
    assert [uin in str(m["Subject"]) for m in smtp.messages] == [True]


def test_hotline_worker_once_runs_a_round(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOTLINE_")}
    env.update(HOTLINE_DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'w.db'}")
    hotline = [sys.executable, "-m", "hotline.cli"]
    for args in (["db", "upgrade"], ["worker", "--once"]):
        run = subprocess.run(
            hotline + args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
        )
        assert run.returncode == 0, run.stderr
    assert "worker round: nothing to do" in run.stdout
    assert "HOTLINE_SMTP_HOST is empty" in run.stderr


def _agent() -> dict[str, str]:
    from tests.conftest import auth

    return auth("agent")
