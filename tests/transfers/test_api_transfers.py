"""Transfers over the API against the simulated Asterisk: two go, the third is refused."""

from __future__ import annotations

from sqlalchemy import select

from crm.models import Call, CallContext, Transfer
from tests.transfers.conftest import CONTEXT, Rig, agent_auth, next_pop, supervisor_auth


async def _ticket(rig: Rig) -> str:
    reply = await rig.crm.post(
        "/api/tickets",
        json={"channel": "phone", "summary": "VAT return", "caller_name": "Мария"},
        headers=supervisor_auth(),
    )
    assert reply.status_code == 201, reply.text
    return reply.json()["uin"]


async def test_two_transfers_go_with_the_context_and_the_third_is_refused(rig: Rig) -> None:
    uin = await _ticket(rig)
    call = await rig.call(uin)
    linkedid = call.two.linkedid
    agent2 = await rig.listen("agent2")
    agent3 = await rig.listen("agent3")

    first = await rig.crm.post(
        f"/api/calls/{linkedid}/transfers",
        json={"to": "agent2", "mode": "blind", **CONTEXT},
        headers=agent_auth("agent1"),
    )
    assert first.status_code == 201, first.text
    assert (first.json()["n"], first.json()["remaining"]) == (1, 1)
    # Inherited by the target's channels: its `whisper` says "transfer 1 of 2".
    assert call.two.get_var("TRANSFER_COUNT") == "1"
    await rig.settle(5)
    assert call.leg is not None and call.leg.agent == "agent2"
    pop = await next_pop(agent2)
    assert pop["uin"] == uin and pop["n"] == 1 and pop["from_agent"] == "agent1"
    assert {k: pop[k] for k in CONTEXT} == CONTEXT

    second = await rig.crm.post(
        f"/api/calls/{linkedid}/transfers",
        json={"to": "201", "mode": "blind", **CONTEXT, "summary": "Needs the second line"},
        headers=agent_auth("agent2"),
    )
    assert second.status_code == 201, second.text
    assert (second.json()["n"], second.json()["remaining"]) == (2, 0)
    await rig.settle(5)
    assert call.leg is not None and call.leg.agent == "agent3"
    pop = await next_pop(agent3)
    assert pop["summary"] == "Needs the second line" and pop["n"] == 2
    assert [(link["from"], link["to_agent"]) for link in pop["chain"]] == [
        ("agent1", "agent2"),
        ("agent2", "agent3"),
    ]

    third = await rig.crm.post(
        f"/api/calls/{linkedid}/transfers",
        json={"to": "300", "mode": "blind", **CONTEXT},
        headers=agent_auth("agent3"),
    )
    assert third.status_code == 409
    assert third.json()["detail"] == "transfer limit reached (2)"
    await rig.settle(5)
    assert call.leg is not None and call.leg.agent == "agent3"  # the caller stays
    assert len(call.truth.transfers) == 2
    async with rig.recorder._sessions() as session:
        copy = await session.get(CallContext, linkedid)
    assert copy is not None and copy.transfers_refused == 1  # the refused try, in the CRM

    chain = await rig.crm.get(f"/api/tickets/{uin}/transfers", headers=supervisor_auth())
    assert chain.status_code == 200
    rows = chain.json()
    assert [(r["n"], r["from_agent"], r["to"], r["how"]) for r in rows] == [
        (1, "agent1", "200", "api"),
        (2, "agent2", "201", "api"),
    ]
    assert all(r["outcome"] == "completed" and not r["context_missing"] for r in rows)
    ctx = await rig.store.get(linkedid)
    assert ctx is not None and ctx.count == 2
    async with rig.recorder._sessions() as session:
        stored = await session.get(CallContext, linkedid)
        assert stored is not None and stored.transfer_count == 2 and stored.uin == uin
        record = (await session.execute(select(Call).where(Call.linkedid == linkedid))).scalar_one()
        assert record.transfer_count == 2


async def test_a_cancelled_attended_transfer_does_not_count(rig: Rig) -> None:
    call = await rig.call()
    linkedid = call.two.linkedid
    agent2 = await rig.listen("agent2")
    reply = await rig.crm.post(
        f"/api/calls/{linkedid}/transfers",
        json={"to": "agent2", "mode": "attended", **CONTEXT},
        headers=agent_auth("agent1"),
    )
    assert reply.status_code == 201, reply.text
    assert reply.json()["counted"] is False and reply.json()["n"] == 1
    assert (await next_pop(agent2))["summary"] == CONTEXT["summary"]
    await rig.settle(1)
    channel = await rig.agent_channel(call)
    answer = await rig.ami.send_action({"Action": "CancelAtxfer", "Channel": channel})
    assert answer.success
    await rig.settle(5)
    ctx = await rig.store.get(linkedid)
    assert ctx is not None and ctx.count == 0

    # Its slot comes back once the reservation lapses: two more transfers still fit.
    rig.now[0] = rig.now[0].replace(hour=8)
    again = await rig.crm.post(
        f"/api/calls/{linkedid}/transfers",
        json={"to": "agent2", "mode": "attended", **CONTEXT},
        headers=agent_auth("agent1"),
    )
    assert again.status_code == 201 and again.json()["n"] == 1
    await rig.settle(1)
    # Cancelled over the API: the slot is free at once, no waiting for the lapse.
    cancelled = await rig.crm.post(
        f"/api/calls/{linkedid}/transfers/cancel", headers=agent_auth("agent1")
    )
    assert cancelled.status_code == 200, cancelled.text
    assert (cancelled.json()["count"], cancelled.json()["remaining"]) == (0, 2)
    await rig.settle(5)
    assert call.truth.transfers == [] and call.consult is None
    again = await rig.crm.post(
        f"/api/calls/{linkedid}/transfers",
        json={"to": "agent2", "mode": "attended", **CONTEXT},
        headers=agent_auth("agent1"),
    )
    assert again.status_code == 201 and again.json()["n"] == 1
    await rig.settle(5)  # agent2 answers the consultation
    await rig.ami.send_action({"Action": "Hangup", "Channel": channel})  # agent1 completes
    await rig.settle(2)
    assert [t.kind for t in call.truth.transfers] == ["attended"]
    ctx = await rig.store.get(linkedid)
    assert ctx is not None and ctx.count == 1
    async with rig.recorder._sessions() as session:
        rows = (await session.execute(select(Transfer))).scalars().all()
    assert [(t.n, t.how, t.mode, t.from_agent) for t in rows] == [(1, "api", "attended", "agent1")]


async def test_refusals_name_what_is_wrong(rig: Rig) -> None:
    call = await rig.call()
    url = f"/api/calls/{call.two.linkedid}/transfers"
    bad_inn = await rig.crm.post(
        url,
        json={"to": "agent2", "mode": "blind", **CONTEXT, "org_inn": "7707083894"},
        headers=agent_auth("agent1"),
    )
    assert bad_inn.status_code == 422
    assert [e["loc"][-1] for e in bad_inn.json()["detail"]] == ["org_inn"]
    assert "check digits" in bad_inn.json()["detail"][0]["msg"]
    missing = await rig.crm.post(
        url, json={"to": "agent2", "mode": "blind"}, headers=agent_auth("agent1")
    )
    assert missing.status_code == 422
    assert {e["loc"][-1] for e in missing.json()["detail"]} == {
        "summary",
        "caller_full_name",
        "org_inn",
    }
    body = {"to": "agent2", "mode": "blind", **CONTEXT}
    unknown = await rig.crm.post(
        "/api/calls/1795310000.999/transfers", json=body, headers=agent_auth("agent1")
    )
    assert unknown.status_code == 404
    stranger = await rig.crm.post(url, json=body, headers=agent_auth("agent3"))
    assert stranger.status_code == 403 and "agent3" in stranger.json()["detail"]
    nobody = await rig.crm.post(
        url, json=body, headers={"Authorization": "Bearer agent-token-0123456789abcdef"}
    )
    assert nobody.status_code == 403
    live = await rig.store.get(call.two.linkedid)
    assert live is None or live.count == 0
    assert call.truth.transfers == []
    # A supervisor may move anyone's caller.
    boss = await rig.crm.post(url, json=body, headers=supervisor_auth())
    assert boss.status_code == 201 and boss.json()["n"] == 1
