"""Counting each transfer once, whichever way it was made, across tracker restarts."""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace
from datetime import UTC, datetime

from sqlalchemy import select

from core.context.model import CallContext
from core.context.store import Reservation
from core.facts import CallTransferred
from crm.models import QueueEntry, Transfer
from tests.transfers.conftest import CONTEXT, Rig, agent_auth


async def _rows(rig: Rig) -> list[tuple[int, str, str, bool]]:
    async with rig.recorder._sessions() as session:
        rows = (await session.execute(select(Transfer).order_by(Transfer.n))).scalars().all()
    return [(t.n, t.how, t.to, t.context_missing) for t in rows]


async def test_a_redirect_through_the_simulator_is_counted(rig: Rig) -> None:
    call = await rig.call(uin="00001234")
    reply = await rig.ami.send_action(
        {
            "Action": "Redirect",
            "Channel": call.two.name,
            "Context": "transfer-targets",
            "Exten": "200",
        }
    )
    assert reply.success
    await rig.settle(35)
    assert call.leg is not None and call.leg.agent == "agent2"
    ctx = await rig.store.get(call.two.linkedid)
    assert ctx is not None and ctx.count == 1


async def test_a_redirect_based_transfer_counts_once(rig: Rig) -> None:
    """The tracker's `redirect` fact (no Asterisk event of its own) counts once, also when
    delivered twice, and the API transfer before it is not counted again."""
    call = await rig.call(uin="00001234")
    linkedid = call.two.linkedid
    made = await rig.crm.post(
        f"/api/calls/{linkedid}/transfers",
        json={"to": "agent2", "mode": "blind", **CONTEXT},
        headers=agent_auth("agent1"),
    )
    assert made.status_code == 201 and made.json()["n"] == 1
    await rig.settle(5)
    at = datetime.fromtimestamp(rig.pbx.now(), UTC)
    # What the tracker reports for a supervisor's AMI Redirect of the caller to 300.
    moved = CallTransferred(
        linkedid=linkedid, n=1, how="redirect", from_agent="agent2", to="300", at=at
    )
    assert await rig.recorder.apply(moved)
    assert not await rig.recorder.apply(moved)  # a second delivery changes nothing
    ctx = await rig.store.get(linkedid)
    assert ctx is not None and ctx.count == 2
    assert [(link["how"], link["to"]) for link in ctx.chain] == [
        ("api", "200"),
        ("redirect", "300"),
    ]
    rows = await _rows(rig)
    assert rows == [(1, "api", "200", False), (2, "redirect", "300", False)]


async def test_a_tracker_restart_between_transfers_keeps_the_count(rig: Rig) -> None:
    """First a blind transfer into the support queue (a new queue entry on the same
    ticket), then a tracker restart, then a second transfer: counted 2, not 1 again."""
    rig.pbx.add_agent("agent4", "support", answer_delay_s=3)
    call = await rig.call(uin="00004321")
    linkedid = call.two.linkedid
    # The agent's phone transfers (no API, no context filed).
    reply = await rig.ami.send_action(
        {
            "Action": "BlindTransfer",
            "Channel": await rig.agent_channel(call),
            "Context": "transfer-targets",
            "Exten": "300",
        }
    )
    assert reply.success
    await rig.settle(5)
    assert call.leg is not None and call.leg.agent == "agent4"
    assert (await rig.store.get(linkedid) or CallContext()).count == 1
    async with rig.recorder._sessions() as session:
        entries = (await session.execute(select(QueueEntry).order_by(QueueEntry.entry))).scalars()
        assert [(e.entry, e.queue, e.outcome.value) for e in entries] == [
            (1, "hotline", "answered"),
            (2, "support", "answered"),
        ]

    await rig.stop_tracker()
    await rig.pbx.run_for(10)
    await rig.start_tracker()  # a new process: it knows nothing of the first transfer
    await rig.settle(1)

    reply = await rig.ami.send_action(
        {
            "Action": "BlindTransfer",
            "Channel": await rig.agent_channel(call),
            "Context": "transfer-targets",
            "Exten": "201",
        }
    )
    assert reply.success
    await rig.settle(5)
    assert call.leg is not None and call.leg.agent == "agent3"
    ctx = await rig.store.get(linkedid)
    assert ctx is not None and ctx.count == 2
    assert [(link["to"], link["to_agent"]) for link in ctx.chain] == [
        ("300", ""),
        ("201", "agent3"),
    ]
    rows = await _rows(rig)
    assert rows == [(1, "blind", "300", True), (2, "blind", "201", True)]
    async with rig.recorder._sessions() as session:
        first = (await session.execute(select(Transfer).where(Transfer.n == 1))).scalar_one()
    # Without filed context the transfer still carries the UIN.
    assert first.context is not None and first.context["uin"] == "00004321"

    third = await rig.crm.post(
        f"/api/calls/{linkedid}/transfers",
        json={"to": "300", "mode": "blind", **CONTEXT},
        headers=agent_auth("agent3"),
    )
    assert third.status_code == 409


async def test_concurrent_paths_cannot_both_take_the_last_slot(rig: Rig) -> None:
    linkedid = "1795310000.77"
    await rig.store.update(linkedid, uin="00000077")

    def reservation(i: int) -> Reservation:
        return Reservation(f"t{i}", f"agent{i}", "200", "blind", "api", time.time(), {})

    results = await asyncio.gather(*(rig.store.claim(linkedid, reservation(i)) for i in range(20)))
    granted = [i for i, (n, _count) in enumerate(results) if n > 0]
    assert sorted(results[i][0] for i in granted) == [1, 2]
    for i in granted:
        assert await rig.store.count(linkedid, f"t{i}") in (1, 2)
    # The events reporting those two transfers are absorbed by them, not counted again
    # (the second event names no agent, as after a tracker restart).
    first = await rig.store.on_event(linkedid, "e1", f"agent{granted[0]}", "blind", "200")
    second = await rig.store.on_event(linkedid, "e2", "", "blind", "200")
    assert first.reservation is not None and first.reservation.token == f"t{granted[0]}"
    assert second.reservation is not None and second.reservation.token == f"t{granted[1]}"
    # An event with no reservation left is a transfer nobody announced: it counts.
    extra = await rig.store.on_event(linkedid, "e3", "agent5", "redirect", "300")
    assert extra.n == 3 and extra.reservation is None
    ctx = await rig.store.get(linkedid)
    assert ctx is not None and ctx.count == 3


async def test_an_adopted_blind_transfer_over_the_limit_is_still_refused(rig: Rig) -> None:
    linkedid = "1795310000.88"
    for i in range(3):  # three blind transfers reported by Asterisk, no route ran yet
        await rig.store.on_event(linkedid, f"e{i}", "agent1", "blind", "200")

    def reservation(token: str) -> Reservation:
        return Reservation(token, "agent1", "200", "blind", "blind", time.time(), {})

    n, _count = await rig.store.claim(linkedid, reservation("r1"), adopt=True)
    assert n == 1  # the first of them
    n, count = await rig.store.claim(linkedid, reservation("r2"), adopt=True)
    assert n == 2
    n, count = await rig.store.claim(linkedid, reservation("r3"), adopt=True)
    assert (n, count) == (-1, 3)


async def test_a_phone_transfer_reported_at_the_limit_is_a_refused_try(rig: Rig) -> None:
    """Asterisk reports a phone transfer into [hotline-transfer] before its AGI route
    runs: at the limit the event counts nothing, and the route then refuses it (once)."""
    linkedid = "1795310000.99"
    for i in range(2):
        first = await rig.store.on_event(linkedid, f"e{i}", "agent1", "blind", "300", phone=True)
        assert first.n == i + 1
    third = await rig.store.on_event(linkedid, "e2", "agent1", "blind", "300", phone=True)
    assert third.n == 0 and third.reservation is None
    ctx = await rig.store.get(linkedid)
    assert ctx is not None and (ctx.count, ctx.refused) == (2, 0)
    late = Reservation("r3", "agent1", "300", "blind", "blind", time.time(), {})
    for token in ("r1", "r2"):  # the routes of the first two adopt what their events counted
        n, _ = await rig.store.claim(linkedid, replace(late, token=token), adopt=True)
        assert n in (1, 2)
    n, count = await rig.store.claim(linkedid, late, adopt=True)
    assert (n, count) == (-1, 2)
    ctx = await rig.store.get(linkedid)
    assert ctx is not None and (ctx.count, ctx.refused) == (2, 1)
    assert await rig.store.refused_total() == 1


async def test_a_phone_transfer_to_an_extension_that_is_no_target_counts_nothing(
    rig: Rig,
) -> None:
    """[hotline-transfer] sends it back to the agent before the AGI route (a Goto to a
    missing extension would hang the caller up): Asterisk's BlindTransfer into the phone
    context still reports it, and it must not take one of the call's two transfers."""
    call = await rig.call(uin="00005555")
    linkedid = call.two.linkedid
    phone = rig.settings.transfers.phone_context
    at = datetime.fromtimestamp(rig.pbx.now(), UTC)
    stray = CallTransferred(
        linkedid=linkedid, n=1, how="blind", from_agent="agent1", to="999",
        dialplan_context=phone, at=at,
    )  # fmt: skip
    assert await rig.recorder.apply(stray)
    await rig.screen_pops.on_fact(stray)
    ctx = await rig.store.get(linkedid)
    assert ctx is None or ctx.count == 0
    assert await _rows(rig) == []
    # The same event to a target counts.
    made = stray.model_copy(update={"to": "300", "at": at.replace(microsecond=1)})
    assert await rig.recorder.apply(made)
    ctx = await rig.store.get(linkedid)
    assert ctx is not None and ctx.count == 1
