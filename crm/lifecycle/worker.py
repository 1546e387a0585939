"""`hotline worker`: escalations, reminders, 14-day refusals, 30-day closures, the outbox.

`Worker.run_once(now)` does one round (tests call it with a fake clock); `run(stop)`
repeats it every `HOTLINE_WORKER_INTERVAL_S` until `stop` is set. Safe with several
workers at once: each ticket and each e-mail is taken under `FOR UPDATE SKIP LOCKED`
(PostgreSQL; SQLite serialises writers), and the jobs decide from the audit log read
under that lock (`jobs.py`).
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Sequence
from datetime import datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.settings import LifecycleSettings
from crm.lifecycle import audit, jobs
from crm.lifecycle.calendar import CalendarStore
from crm.lifecycle.mail import Mailer
from crm.lifecycle.tokens import ConfirmationTokens
from crm.models import Notification, Status, Ticket, TicketEvent
from crm.rules import OPEN
from crm.service import Clock

log = logging.getLogger(__name__)

Job = Callable[
    [AsyncSession, Ticket, Sequence[TicketEvent], jobs.JobContext], Awaitable[str | None]
]
SEND_BATCH = 200
MAX_RETRY_DELAY = timedelta(hours=1)


def retry_delay(attempts: int) -> timedelta:
    """1, 2, 4 ... minutes after each failure, at most an hour: a failed e-mail is never dropped."""
    return min(timedelta(minutes=2 ** max(attempts - 1, 0)), MAX_RETRY_DELAY)


class Worker:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        settings: LifecycleSettings,
        calendars: CalendarStore,
        tokens: ConfirmationTokens,
        mailer: Mailer | None,
        clock: Clock,
    ) -> None:
        self._sessions = sessions
        self._settings = settings
        self._calendars = calendars
        self._tokens = tokens
        self._mailer = mailer  # None: e-mails wait in the outbox
        self._clock = clock

    async def run_once(self, now: datetime | None = None) -> Counter[str]:
        """One round of every job at `now` (default: the clock); returns what was done."""
        now = self._clock() if now is None else now
        ctx = jobs.JobContext(self._settings, await self._calendars.calendar(), self._tokens, now)
        done: Counter[str] = Counter()
        await self._each_ticket(OPEN, jobs.escalate, ctx, done)
        await self._each_ticket((Status.suspended,), jobs.chase_information, ctx, done)
        await self._each_ticket((Status.resolved,), jobs.chase_confirmation, ctx, done)
        await self._send_outbox(now, done)
        if done:
            log.info("worker round at %s: %s", now.isoformat(), dict(done))
        return done

    async def _each_ticket(
        self, statuses: Iterable[Status], job: Job, ctx: jobs.JobContext, done: Counter[str]
    ) -> None:
        wanted = list(statuses)
        async with self._sessions() as session:
            ids = (
                (
                    await session.execute(
                        select(Ticket.id).where(Ticket.status.in_(wanted)).order_by(Ticket.id)
                    )
                )
                .scalars()
                .all()
            )
        for ticket_id in ids:
            try:
                async with self._sessions.begin() as session:
                    # Re-checked under the lock: another worker may have moved it meanwhile.
                    ticket = (
                        await session.execute(
                            select(Ticket)
                            .where(Ticket.id == ticket_id, Ticket.status.in_(wanted))
                            .with_for_update(skip_locked=True)
                        )
                    ).scalar_one_or_none()
                    if ticket is None:
                        continue
                    rows = await audit.audit_rows(session, ticket.id)
                    outcome = await job(session, ticket, rows, ctx)
                if outcome:
                    done[outcome] += 1
            except Exception:  # one bad ticket must not stop the round for the others
                log.exception("worker: %s failed on ticket id %s", job.__name__, ticket_id)
                done["errors"] += 1

    async def _send_outbox(self, now: datetime, done: Counter[str]) -> None:
        if self._mailer is None:
            return
        for _ in range(SEND_BATCH):
            async with self._sessions.begin() as session:
                note = (
                    await session.execute(
                        select(Notification)
                        .where(
                            Notification.sent_at.is_(None),
                            Notification.to_addr.is_not(None),
                            or_(
                                Notification.next_attempt_at.is_(None),
                                Notification.next_attempt_at <= now,
                            ),
                        )
                        .order_by(Notification.id)
                        .limit(1)
                        .with_for_update(skip_locked=True)
                    )
                ).scalar_one_or_none()
                if note is None:
                    return
                note.attempts += 1
                # Kept before sending, so that a reply naming it finds the ticket.
                note.message_id = note.message_id or self._mailer.new_message_id()
                try:
                    await self._mailer.send_message(
                        note.to_addr or "",
                        note.subject,
                        note.body,
                        note.message_id,
                        note.in_reply_to,
                    )
                except Exception as exc:  # any failure: keep the row, try again later
                    note.last_error = f"{type(exc).__name__}: {exc}"[:2000]
                    note.next_attempt_at = now + retry_delay(note.attempts)
                    log.warning("worker: e-mail %s to %s failed: %s", note.id, note.to_addr, exc)
                    done["send_failed"] += 1
                else:
                    note.sent_at, note.last_error = now, None
                    done["sent"] += 1

    async def run(self, stop: asyncio.Event) -> None:
        """Rounds every `worker_interval_s` until `stop` is set; a failed round is logged."""
        while not stop.is_set():
            try:
                await self.run_once()
            except Exception:
                log.exception("worker: the round failed; trying again next interval")
            try:
                await asyncio.wait_for(stop.wait(), self._settings.worker_interval_s)
            except TimeoutError:
                pass
