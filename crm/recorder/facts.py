"""What each kind of call fact writes in SQL: one `on_<kind>` handler per kind.

A handler is given the transaction's session, the call's row (locked) and the fact; the
recorder has already checked that the fact is new. `transfers` (the recorder's
`TransferLedger`, None without Redis) writes the transfer records and the CRM's copy of
the call context from what it read in Redis before the transaction (the live context and
the screen pops are `crm.transfers.screenpops`')."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, get_args

from sqlalchemy.ext.asyncio import AsyncSession

from core.caller_id import later_wins
from core.facts import (
    AGENT_FACTS,
    CallAbandoned,
    CallAnswered,
    CallCompleted,
    CallEnded,
    CallFact,
    CallOutOfHours,
    CallQueued,
    CallRated,
    CallRinging,
    CallStarted,
    CallTicketed,
    CallTransferred,
)
from crm.models import Call, CallOutcome, QueueEntryOutcome, TicketEvent
from crm.recorder.agents import on_ringing as agent_rang
from crm.recorder.calls import link_ticket
from crm.recorder.prefetch import queue_entry
from crm.transfers.ledger import TransferLedger

Handler = Callable[[AsyncSession, Call, Any, TransferLedger | None], Awaitable[None]]


def learn_caller(call: Call, num: str, name: str) -> None:
    """The caller's number and name a fact reports: a later known value wins, and
    `<unknown>` (a `Newchannel` before its `NewCallerid`) never does."""
    # Cut to the columns' lengths (PostgreSQL refuses longer values, SQLite keeps them).
    call.caller_number = later_wins(call.caller_number, num)[:40] or None
    call.caller_name = later_wins(call.caller_name, name)[:200] or None


async def on_started(
    session: AsyncSession, call: Call, fact: CallStarted, transfers: TransferLedger | None
) -> None:
    learn_caller(call, fact.caller_num, fact.caller_name)
    # A re-told `started` (the caller's ID came later) carries the same moment; keep the
    # earliest whatever the order the tellings come in.
    call.started_at = min(call.started_at or fact.at, fact.at)


async def on_ticketed(
    session: AsyncSession, call: Call, fact: CallTicketed, transfers: TransferLedger | None
) -> None:
    call.announced_uin = fact.uin
    learn_caller(call, fact.caller_num, fact.caller_name)
    if fact.attached:
        # The caller named their existing request: the call is that request's, whatever
        # new UIN it was told before (withdrawn into this one).
        call.ticket_id = None
    await link_ticket(session, call)
    if transfers is not None:
        await transfers.on_ticketed(session, fact)


async def on_queued(
    session: AsyncSession, call: Call, fact: CallQueued, transfers: TransferLedger | None
) -> None:
    entry = await queue_entry(session, call, fact.entry, fact.queue)
    entry.queue, entry.position, entry.joined_at = fact.queue, fact.position, fact.at
    if call.queued_at is None or fact.entry == 1:
        call.queue, call.queued_at = fact.queue, fact.at


async def on_answered(
    session: AsyncSession, call: Call, fact: CallAnswered, transfers: TransferLedger | None
) -> None:
    entry = await queue_entry(session, call, fact.entry, fact.queue)
    entry.outcome = QueueEntryOutcome.answered
    entry.answered_at, entry.wait_s, entry.agent = fact.at, fact.wait_s, fact.agent
    entry.wait_whole_s = fact.wait_whole_s
    if call.answered_at is None:  # the call's own figures are those of its first answer
        call.answered_at, call.wait_s = fact.at, fact.wait_s
    call.reached(fact.agent)
    call.outcome = CallOutcome.answered


async def on_completed(
    session: AsyncSession, call: Call, fact: CallCompleted, transfers: TransferLedger | None
) -> None:
    """The agent's talk of this entry ended (AgentComplete): the history's `completed`."""
    entry = await queue_entry(session, call, fact.entry, fact.queue)
    first = entry.completed_at is None
    entry.completed_at = fact.at
    if first and call.ended_at is not None:
        # app_queue's AgentComplete can come after the caller's Hangup (its stasis thread
        # looks the caller up then): the call's `ended` told a talk without this entry's.
        call.talk_s = (call.talk_s or 0.0) + fact.talk_s


async def on_ringing(
    session: AsyncSession, call: Call, fact: CallRinging, transfers: TransferLedger | None
) -> None:
    """The ring is the agent report's `offered` (the screen pop is `crm.transfers.screenpops`')."""
    await agent_rang(session, fact)


async def on_abandoned(
    session: AsyncSession, call: Call, fact: CallAbandoned, transfers: TransferLedger | None
) -> None:
    entry = await queue_entry(session, call, fact.entry, fact.queue)
    entry.outcome, entry.left_at, entry.wait_s = (
        QueueEntryOutcome.abandoned,
        fact.at,
        fact.wait_s,
    )
    entry.wait_whole_s = fact.wait_whole_s
    entry.position = entry.position or fact.original_position
    if call.answered_at is None:
        call.outcome, call.wait_s = CallOutcome.abandoned, fact.wait_s


async def on_transferred(
    session: AsyncSession, call: Call, fact: CallTransferred, transfers: TransferLedger | None
) -> None:
    if transfers is None:
        call.transfer_count = max(call.transfer_count or 0, fact.n)
        return
    await transfers.on_transferred(session, call, fact)


async def on_ended(
    session: AsyncSession, call: Call, fact: CallEnded, transfers: TransferLedger | None
) -> None:
    call.ended_at, call.talk_s, call.hung_up_by = fact.at, fact.talk_s, fact.hung_up_by
    if call.outcome is CallOutcome.in_progress:
        call.outcome = CallOutcome.unanswered


async def on_out_of_hours(
    session: AsyncSession, call: Call, fact: CallOutOfHours, transfers: TransferLedger | None
) -> None:
    learn_caller(call, fact.caller_num, fact.caller_name)
    call.started_at = call.started_at or fact.at
    call.outcome = CallOutcome.out_of_hours


async def on_rated(
    session: AsyncSession, call: Call, fact: CallRated, transfers: TransferLedger | None
) -> None:
    call.solved, call.score = fact.solved, fact.score
    if call.ticket_id is not None:
        session.add(
            TicketEvent(
                ticket_id=call.ticket_id,
                actor="survey",
                action="rated",
                field="call",
                new_value=call.linkedid,
                data={"solved": fact.solved, "score": fact.score},
            )
        )


async def on_other(
    session: AsyncSession, call: Call, fact: CallFact, transfers: TransferLedger | None
) -> None:
    """A kind of fact that changes nothing on the call record."""


HANDLERS: dict[type, Handler] = {
    CallStarted: on_started,
    CallTicketed: on_ticketed,
    CallQueued: on_queued,
    CallAnswered: on_answered,
    CallCompleted: on_completed,
    CallAbandoned: on_abandoned,
    CallRinging: on_ringing,
    CallTransferred: on_transferred,
    CallEnded: on_ended,
    CallOutOfHours: on_out_of_hours,
    CallRated: on_rated,
}
for _fact_type in get_args(get_args(CallFact)[0]):
    if _fact_type not in AGENT_FACTS:
        HANDLERS.setdefault(_fact_type, on_other)


async def write_fact(
    session: AsyncSession, call: Call, fact: CallFact, transfers: TransferLedger | None
) -> None:
    """Write one new fact onto its call, in the caller's transaction."""
    await HANDLERS[type(fact)](session, call, fact, transfers)
