"""Resolution with a confirmation link, refusals, requests for information, tickets per call."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlparse

import httpx
import pytest
from asgi_lifespan import LifespanManager

from core.settings import Settings
from hotline.bootstrap import create_app
from tests.conftest import auth
from tests.lifecycle.conftest import FakeClock, events, msk, new_ticket, outbox, post, sla

SOLUTION = "Очистите кэш браузера и повторите выгрузку отчёта."


def link_in(body: str) -> str:
    [line] = [ln for ln in body.splitlines() if "/api/confirm/" in ln]
    return urlparse(line.strip()).path


async def resolved(lc: httpx.AsyncClient, database_url: str) -> tuple[str, str]:
    """A resolved ticket with a caller e-mail, and the confirmation path from its e-mail."""
    uin = (await new_ticket(lc, caller_email="Alice@Example.RU"))["uin"]
    response = await post(lc, uin, "resolve", {"solution": SOLUTION})
    assert response.status_code == 200, response.text
    [note] = await outbox(database_url, uin)
    assert note.to_addr == "Alice@example.ru" and note.kind == "solution"
    assert uin in note.subject and uin in note.body and SOLUTION in note.body
    assert "https://hotline.example.ru/api/confirm/" in note.body
    return uin, link_in(note.body)


async def test_resolve_needs_a_solution_and_stops_the_clock(
    lc: httpx.AsyncClient, clock: FakeClock
) -> None:
    uin = (await new_ticket(lc))["uin"]
    blank = await post(lc, uin, "resolve", {"solution": "   "})
    assert blank.status_code == 422 and blank.json()["detail"][0]["loc"] == ["body", "solution"]
    clock.set(msk(2026, 11, 25, 12))
    done = (await post(lc, uin, "resolve", {"solution": SOLUTION})).json()
    assert done["status"] == "resolved" and done["solution"] == SOLUTION
    assert done["resolved_at"] is not None
    clock.set(msk(2026, 11, 26, 12))
    assert (await sla(lc, uin))["elapsed_s"] == 2 * 3600  # stopped at the solution


async def test_confirmation_link_closes_the_ticket_once(
    lc: httpx.AsyncClient, clock: FakeClock, database_url: str
) -> None:
    uin, path = await resolved(lc, database_url)
    clock.set(msk(2026, 11, 26, 11))
    confirmed = await lc.get(path)  # no bearer token: the link is the credential
    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.json()["uin"] == uin and confirmed.json()["status"] == "closed"
    ticket = (await lc.get(f"/api/tickets/{uin}", headers=auth("agent"))).json()
    assert ticket["status"] == "closed" and ticket["confirmed_at"] is not None
    again = await lc.get(path)
    assert again.status_code == 409
    closing = [e for e in await events(lc, uin) if e["new_value"] == "closed"]
    assert len(closing) == 1 and closing[0]["actor"] == "caller"


async def test_an_agent_closes_a_phone_callers_ticket_in_agreement_with_them(
    lc: httpx.AsyncClient, database_url: str
) -> None:
    """A caller with no e-mail gets no link: the contractor confirms with their agreement."""
    uin = (await new_ticket(lc))["uin"]
    early = await post(lc, uin, "confirm", {"note": "caller agreed on the phone"})
    assert early.status_code == 409  # nothing to confirm before a solution
    await post(lc, uin, "resolve", {"solution": SOLUTION})
    assert await outbox(database_url, uin) == []  # no e-mail: no link, no reminders
    blank = await post(lc, uin, "confirm", {"note": "  "})
    assert blank.status_code == 422 and blank.json()["detail"][0]["loc"] == ["body", "note"]
    done = await post(lc, uin, "confirm", {"note": "caller agreed on the phone"})
    assert done.status_code == 200 and done.json()["status"] == "closed"
    assert done.json()["confirmed_at"] is not None
    [closing] = [e for e in await events(lc, uin) if e["new_value"] == "closed"]
    assert closing["actor"] != "caller" and closing["data"]["via"] == "agreed_with_caller"
    assert closing["data"]["note"] == "caller agreed on the phone"
    again = await post(lc, uin, "confirm", {"note": "twice"})
    assert again.status_code == 409


async def test_forged_and_expired_links_are_refused(
    lc: httpx.AsyncClient, clock: FakeClock, database_url: str
) -> None:
    uin, path = await resolved(lc, database_url)
    token = path.rsplit("/", 1)[1]
    forged = token[:-2] + ("AA" if token[-2:] != "AA" else "BB")
    assert (await lc.get(f"/api/confirm/{forged}")).status_code == 400
    assert (await lc.get("/api/confirm/not-a-token")).status_code == 400
    clock.set(clock.now + timedelta(days=91))  # HOTLINE_CONFIRM_LINK_MAX_AGE_DAYS = 90
    expired = await lc.get(path)
    assert expired.status_code == 410 and "expired" in expired.json()["detail"]
    ticket = (await lc.get(f"/api/tickets/{uin}", headers=auth("agent"))).json()
    assert ticket["status"] == "resolved"


async def test_link_of_an_earlier_resolution_is_refused_after_reopening(
    lc: httpx.AsyncClient, clock: FakeClock, database_url: str
) -> None:
    uin, old_path = await resolved(lc, database_url)
    clock.set(msk(2026, 11, 26, 10))
    reopened = await lc.patch(
        f"/api/tickets/{uin}", json={"status": "in_progress"}, headers=auth("agent")
    )
    assert reopened.status_code == 200
    clock.set(msk(2026, 11, 26, 11))
    assert (await post(lc, uin, "resolve", {"solution": "Второе решение"})).status_code == 200
    assert (await lc.get(old_path)).status_code == 409
    new_path = link_in((await outbox(database_url, uin))[-1].body)
    assert (await lc.get(new_path)).status_code == 200


async def test_resolving_for_an_e_mail_needs_a_secret_key(
    settings: Settings, clock: FakeClock
) -> None:
    app = create_app(settings, clock=clock)  # the shared settings have no HOTLINE_SECRET_KEY
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://crm") as http:
            uin = (await new_ticket(http, caller_email="a@example.ru"))["uin"]
            response = await post(http, uin, "resolve", {"solution": SOLUTION})
            assert response.status_code == 503 and "HOTLINE_SECRET_KEY" in response.json()["detail"]
            assert (await http.get(f"/api/tickets/{uin}", headers=auth("agent"))).json()[
                "status"
            ] == "registered"


def test_placeholder_secret_key_is_refused() -> None:
    from core.settings import LifecycleSettings

    for bad in ("changeme", "short-key"):
        with pytest.raises(ValueError, match="HOTLINE_SECRET_KEY"):
            LifecycleSettings(secret_key=bad)


async def test_refuse_out_of_scope_and_duplicate_rules(
    lc: httpx.AsyncClient, database_url: str
) -> None:
    original = (await new_ticket(lc))["uin"]
    copy = (await new_ticket(lc, caller_email="bob@example.ru"))["uin"]
    need_ref = await post(lc, copy, "refuse", {"reason": "duplicate"})
    assert need_ref.status_code == 422 and need_ref.json()["detail"][0]["loc"] == [
        "body",
        "duplicate_of",
    ]
    unsolved = await post(lc, copy, "refuse", {"reason": "duplicate", "duplicate_of": original})
    assert unsolved.status_code == 422 and "without a solution" in unsolved.text
    itself = await post(lc, copy, "refuse", {"reason": "duplicate", "duplicate_of": copy})
    assert itself.status_code == 422
    missing = await post(lc, copy, "refuse", {"reason": "duplicate", "duplicate_of": "99999999"})
    assert missing.status_code == 404
    await post(lc, original, "resolve", {"solution": SOLUTION})
    done = await post(lc, copy, "refuse", {"reason": "duplicate", "duplicate_of": original})
    assert done.status_code == 200, done.text
    body = done.json()
    assert body["status"] == "refused" and body["refusal_reason"] == "duplicate"
    assert body["duplicate_of"] == original and body["solution"] == SOLUTION
    [note] = await outbox(database_url, copy)
    assert note.kind == "refusal" and copy in note.subject and SOLUTION in note.body
    third = (await new_ticket(lc))["uin"]
    by_worker = await post(lc, third, "refuse", {"reason": "no_information"})
    assert by_worker.status_code == 422 and "worker" in by_worker.text
    scope = await post(lc, third, "refuse", {"reason": "out_of_scope", "note": "не наша система"})
    assert scope.status_code == 200 and scope.json()["refusal_reason"] == "out_of_scope"
    row = [e for e in await events(lc, third) if e["new_value"] == "refused"]
    assert len(row) == 1
    assert (await post(lc, third, "resolve", {"solution": "x"})).status_code == 409


async def test_info_request_suspends_and_the_reply_resumes(
    lc: httpx.AsyncClient, clock: FakeClock, database_url: str
) -> None:
    no_mail = (await new_ticket(lc))["uin"]
    refused = await post(lc, no_mail, "info-requests", {"question": "Пришлите скриншот"})
    assert refused.status_code == 422 and refused.json()["detail"][0]["loc"] == [
        "body",
        "caller_email",
    ]
    uin = (await new_ticket(lc, caller_email="c@example.ru"))["uin"]
    assert (await post(lc, uin, "caller-replied")).status_code == 409
    asked = await post(lc, uin, "info-requests", {"question": "Пришлите скриншот ошибки"})
    assert asked.status_code == 201 and asked.json()["status"] == "suspended"
    assert (await sla(lc, uin))["paused"] is True
    second = await post(lc, uin, "info-requests", {"question": "Напоминаем про скриншот"})
    assert second.status_code == 201
    notes = await outbox(database_url, uin)
    assert [n.kind for n in notes] == ["info_request", "info_request"]
    assert "запрос 1" in notes[0].subject and "запрос 2" in notes[1].subject
    clock.set(msk(2026, 11, 26, 10))
    replied = await post(lc, uin, "caller-replied", {"note": "скриншот во вложении"})
    assert replied.status_code == 200 and replied.json()["status"] == "in_progress"
    state = await sla(lc, uin)
    assert state["paused"] is False and state["elapsed_s"] == 0
    actions = [e["action"] for e in await events(lc, uin)]
    assert actions.count("info_requested") == 2 and actions.count("caller_replied") == 1


async def test_a_new_question_in_the_same_call_gets_its_own_ticket(lc: httpx.AsyncClient) -> None:
    first = (await new_ticket(lc))["uin"]
    await lc.post(
        f"/api/tickets/{first}/calls", json={"linkedid": "1795311765.7"}, headers=auth("service")
    )
    second = await lc.post(
        "/api/calls/1795311765.7/tickets",
        json={"category": "ZnK", "priority": 3, "summary": "Как сменить пароль"},
        headers=auth("agent"),
    )
    assert second.status_code == 201, second.text
    second_uin = second.json()["uin"]
    assert second_uin != first
    call = (await lc.get("/api/calls/1795311765.7", headers=auth("agent"))).json()
    assert call["uin"] == first and call["uins"] == [first, second_uin]
    attached = [e for e in await events(lc, second_uin) if e["action"] == "call_attached"]
    assert attached[0]["new_value"] == "1795311765.7"
    unknown = await lc.post("/api/calls/404.404/tickets", json={}, headers=auth("agent"))
    assert unknown.status_code == 404
    listed = (await lc.get("/api/tickets", headers=auth("agent"))).json()
    assert listed["total"] == 2  # the refused call created no ticket


async def test_caller_email_is_validated(lc: httpx.AsyncClient) -> None:
    response = await lc.post(
        "/api/tickets", json={"caller_email": "not-an-address"}, headers=auth("agent")
    )
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "caller_email"]


async def test_a_call_recorded_without_a_link_row_still_lists_its_ticket(
    lc: httpx.AsyncClient, database_url: str
) -> None:
    """The call recorder sets `calls.ticket_id` directly (no `call_tickets` row)."""
    from sqlalchemy import insert, select
    from sqlalchemy.ext.asyncio import create_async_engine

    from crm.models import Call, Ticket

    uin = (await new_ticket(lc))["uin"]
    engine = create_async_engine(database_url)
    try:
        async with engine.begin() as conn:
            ticket_id = (await conn.execute(select(Ticket.id).where(Ticket.uin == uin))).scalar()
            await conn.execute(insert(Call).values(linkedid="1795311765.8", ticket_id=ticket_id))
    finally:
        await engine.dispose()
    more = await lc.post("/api/calls/1795311765.8/tickets", json={}, headers=auth("agent"))
    assert more.status_code == 201
    call = (await lc.get("/api/calls/1795311765.8", headers=auth("agent"))).json()
    assert call["uin"] == uin and call["uins"] == [uin, more.json()["uin"]]
