"""The ticket API end to end over HTTP, on SQLite and PostgreSQL."""

from __future__ import annotations

import re

import httpx
import pytest

from tests.conftest import auth

VALID_INN = "7707083893"  # a real organisation's INN (10 digits)
VALID_PERSONAL_INN = "500100732259"  # 12 digits


def ticket_body(**over: object) -> dict[str, object]:
    body: dict[str, object] = {
        "channel": "phone",
        "caller_phone": "8 (900) 000-00-01",
        "caller_name": "Алиса Петрова",
        "org_name": "ООО «Ромашка»",
        "org_inn": VALID_INN,
        "category": "INC",
        "priority": 2,
        "summary": "Не формируется отчёт",
        "description": "Ошибка 500 при выгрузке",
    }
    body.update(over)
    return body


async def create(client: httpx.AsyncClient, **over: object) -> dict[str, object]:
    response = await client.post("/api/tickets", json=ticket_body(**over), headers=auth("agent"))
    assert response.status_code == 201, response.text
    return response.json()


async def test_create_returns_uin_and_every_stored_field(client: httpx.AsyncClient) -> None:
    ticket = await create(client)
    assert re.fullmatch(r"\d{8}", ticket["uin"])
    assert ticket["caller_phone"] == "+79000000001"  # normalised, region RU
    assert ticket["caller_name"] == "Алиса Петрова"
    assert ticket["org_inn"] == VALID_INN
    assert ticket["category"] == "INC" and ticket["priority"] == 2
    assert ticket["status"] == "registered"
    fetched = (await client.get(f"/api/tickets/{ticket['uin']}", headers=auth("service"))).json()
    assert fetched == ticket


async def test_uins_are_distinct_and_increasing(client: httpx.AsyncClient) -> None:
    uins = [(await create(client))["uin"] for _ in range(5)]
    assert len(set(uins)) == 5
    assert uins == sorted(uins)


async def test_personal_inn_and_email_channel(client: httpx.AsyncClient) -> None:
    ticket = await create(
        client,
        channel="email",
        caller_phone=None,
        org_inn=VALID_PERSONAL_INN,
        category="ZnK",
        priority=4,
    )
    assert ticket["channel"] == "email" and ticket["caller_phone"] is None
    assert ticket["org_inn"] == VALID_PERSONAL_INN


@pytest.mark.parametrize(
    "inn, rule",
    [
        ("7707083894", "check digits"),
        ("123", "not 10 or 12 digits"),
        ("77070838930", "not 10 or 12 digits"),
        ("77O7083893", "not 10 or 12 digits"),
        ("500100732258", "check digits"),
    ],
)
async def test_invalid_inn_is_422_naming_field_and_rule(
    client: httpx.AsyncClient, inn: str, rule: str
) -> None:
    response = await client.post(
        "/api/tickets", json=ticket_body(org_inn=inn), headers=auth("agent")
    )
    assert response.status_code == 422
    [error] = response.json()["detail"]
    assert error["loc"] == ["body", "org_inn"]
    assert rule in error["msg"]


@pytest.mark.parametrize("phone", ["123", "not a phone", "+7 900 000"])
async def test_malformed_phone_is_422(client: httpx.AsyncClient, phone: str) -> None:
    response = await client.post(
        "/api/tickets", json=ticket_body(caller_phone=phone), headers=auth("agent")
    )
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "caller_phone"]


@pytest.mark.parametrize(
    "field, length",
    [("caller_name", 201), ("summary", 501), ("org_name", 301), ("description", 10_001)],
)
async def test_over_long_fields_are_422(client: httpx.AsyncClient, field: str, length: int) -> None:
    response = await client.post(
        "/api/tickets", json=ticket_body(**{field: "я" * length}), headers=auth("agent")
    )
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", field]


async def test_consultation_cannot_be_priority_1(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/api/tickets", json=ticket_body(category="ZnK", priority=1), headers=auth("agent")
    )
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert {tuple(d["loc"]) for d in detail} == {("body", "category"), ("body", "priority")}
    assert "not allowed for a consultation" in detail[0]["msg"]


@pytest.mark.parametrize("priority", [0, 5, None])
async def test_priority_outside_table_2_is_422(
    client: httpx.AsyncClient, priority: int | None
) -> None:
    response = await client.post(
        "/api/tickets", json=ticket_body(priority=priority), headers=auth("agent")
    )
    assert response.status_code == 422


async def test_unknown_fields_are_refused(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/api/tickets", json=ticket_body(uin="00000042"), headers=auth("agent")
    )
    assert response.status_code == 422


async def test_sql_looking_text_is_stored_verbatim(client: httpx.AsyncClient) -> None:
    nasty = 'Robert\'); DROP TABLE tickets;-- %_ \\ "quoted"'
    ticket = await create(client, summary=nasty, caller_name="O'Brien; DELETE FROM calls")
    fetched = (await client.get(f"/api/tickets/{ticket['uin']}", headers=auth("agent"))).json()
    assert fetched["summary"] == nasty
    assert fetched["caller_name"] == "O'Brien; DELETE FROM calls"
    found = (
        await client.get("/api/tickets", params={"text": "DROP TABLE"}, headers=auth("agent"))
    ).json()
    assert [t["uin"] for t in found["items"]] == [ticket["uin"]]


async def test_unknown_uin_is_404(client: httpx.AsyncClient) -> None:
    for method, path, body in [
        ("GET", "/api/tickets/99999999", None),
        ("PATCH", "/api/tickets/99999999", {"priority": 3}),
        ("POST", "/api/tickets/99999999/calls", {"linkedid": "1.1"}),
        ("GET", "/api/tickets/99999999/events", None),
    ]:
        response = await client.request(method, path, json=body, headers=auth("supervisor"))
        assert response.status_code == 404, (method, path)
        assert "99999999" in response.json()["detail"]


async def test_list_filters_and_pagination(client: httpx.AsyncClient) -> None:
    first = await create(client, caller_phone="+79000000001", category="INC", priority=1)
    await create(
        client,
        caller_phone="+79000000002",
        category="ZnK",
        priority=3,
        summary="Как сменить пароль",
    )
    await create(client, caller_phone="89000000001", category="ZnK", priority=2)
    headers = auth("agent")
    by_phone = (
        await client.get("/api/tickets", params={"phone": "+7 900 000-00-01"}, headers=headers)
    ).json()
    assert by_phone["total"] == 2
    by_category = (
        await client.get("/api/tickets", params={"category": "INC"}, headers=headers)
    ).json()
    assert [t["uin"] for t in by_category["items"]] == [first["uin"]]
    by_text = (await client.get("/api/tickets", params={"text": "пароль"}, headers=headers)).json()
    assert by_text["total"] == 1 and by_text["items"][0]["summary"] == "Как сменить пароль"
    page = (
        await client.get("/api/tickets", params={"page": 2, "page_size": 2}, headers=headers)
    ).json()
    assert page["total"] == 3 and len(page["items"]) == 1 and page["page"] == 2
    by_status = (
        await client.get("/api/tickets", params={"status": "closed"}, headers=headers)
    ).json()
    assert by_status["total"] == 0
    bad = await client.get("/api/tickets", params={"status": "nonsense"}, headers=headers)
    assert bad.status_code == 422


async def test_patch_changes_fields_and_writes_the_audit_log(client: httpx.AsyncClient) -> None:
    ticket = await create(client, category="INC", priority=3)
    uin = ticket["uin"]
    response = await client.patch(
        f"/api/tickets/{uin}",
        json={"priority": 1, "status": "in_progress", "summary": "Система недоступна"},
        headers=auth("agent"),
    )
    assert response.status_code == 200, response.text
    assert response.json()["priority"] == 1 and response.json()["status"] == "in_progress"
    events = (await client.get(f"/api/tickets/{uin}/events", headers=auth("agent"))).json()
    assert events[0]["action"] == "created"
    changed = {(e["field"], e["old_value"], e["new_value"]) for e in events[1:]}
    assert changed == {
        ("priority", "3", "1"),
        ("status", "registered", "in_progress"),
        ("summary", "Не формируется отчёт", "Система недоступна"),
    }
    assert all(e["actor"] == "agent" for e in events)


async def test_patch_with_no_change_writes_nothing(client: httpx.AsyncClient) -> None:
    ticket = await create(client)
    await client.patch(
        f"/api/tickets/{ticket['uin']}",
        json={"priority": ticket["priority"]},
        headers=auth("agent"),
    )
    events = (
        await client.get(f"/api/tickets/{ticket['uin']}/events", headers=auth("agent"))
    ).json()
    assert [e["action"] for e in events] == ["created"]


# A step is a status to PATCH, or (endpoint, body) for the statuses that carry data of
# their own: resolved (a solution) and refused (a reason) have dedicated endpoints.
RESOLVE = ("resolve", {"solution": "Перезапустите службу отчётов"})
REFUSE = ("refuse", {"reason": "out_of_scope"})


@pytest.mark.parametrize(
    "path, final, attempt, why",
    [
        ([RESOLVE, "closed"], "closed", "in_progress", "closed is final"),
        ([REFUSE], "refused", "in_progress", "refused is final"),
        ([], "registered", "closed", "only a resolved ticket can be closed"),
        (["in_progress"], "in_progress", "registered", "registered only once"),
    ],
)
async def test_illegal_transition_is_409_saying_which_and_why(
    client: httpx.AsyncClient,
    path: list[str | tuple[str, dict[str, str]]],
    final: str,
    attempt: str,
    why: str,
) -> None:
    uin = (await create(client))["uin"]
    for step in path:
        if isinstance(step, tuple):
            endpoint, body = step
            ok = await client.post(
                f"/api/tickets/{uin}/{endpoint}", json=body, headers=auth("agent")
            )
        else:
            ok = await client.patch(
                f"/api/tickets/{uin}", json={"status": step}, headers=auth("agent")
            )
        assert ok.status_code == 200, ok.text
    response = await client.patch(
        f"/api/tickets/{uin}", json={"status": attempt}, headers=auth("agent")
    )
    assert response.status_code == 409
    detail = response.json()["detail"]
    assert f"{final} -> {attempt}" in detail and why in detail
    current = (await client.get(f"/api/tickets/{uin}", headers=auth("agent"))).json()
    assert current["status"] == final


@pytest.mark.parametrize(
    "status, endpoint", [("suspended", "suspend"), ("resolved", "resolve"), ("refused", "refuse")]
)
async def test_patch_to_a_status_with_its_own_endpoint_is_422_naming_it(
    client: httpx.AsyncClient, status: str, endpoint: str
) -> None:
    uin = (await create(client))["uin"]
    response = await client.patch(
        f"/api/tickets/{uin}", json={"status": status}, headers=auth("agent")
    )
    assert response.status_code == 422
    [error] = response.json()["detail"]
    assert error["loc"] == ["body", "status"]
    assert f"POST /api/tickets/{uin}/{endpoint}" in error["msg"]
    current = (await client.get(f"/api/tickets/{uin}", headers=auth("agent"))).json()
    assert current["status"] == "registered"


async def test_patch_to_invalid_classification_is_422(client: httpx.AsyncClient) -> None:
    uin = (await create(client, category="INC", priority=1))["uin"]
    response = await client.patch(
        f"/api/tickets/{uin}", json={"category": "ZnK"}, headers=auth("agent")
    )
    assert response.status_code == 422
    assert (await client.get(f"/api/tickets/{uin}", headers=auth("agent"))).json()[
        "category"
    ] == "INC"


async def test_duplicate_of_must_name_an_existing_other_ticket(client: httpx.AsyncClient) -> None:
    original = (await create(client))["uin"]
    copy = (await create(client))["uin"]
    ok = await client.patch(
        f"/api/tickets/{copy}", json={"duplicate_of": original}, headers=auth("agent")
    )
    assert ok.status_code == 200 and ok.json()["duplicate_of"] == original
    missing = await client.patch(
        f"/api/tickets/{copy}", json={"duplicate_of": "99999999"}, headers=auth("agent")
    )
    assert missing.status_code == 404
    itself = await client.patch(
        f"/api/tickets/{copy}", json={"duplicate_of": copy}, headers=auth("agent")
    )
    assert itself.status_code == 422


async def test_attach_call_is_idempotent_and_readable(client: httpx.AsyncClient) -> None:
    uin = (await create(client))["uin"]
    body = {
        "linkedid": "1795311765.42",
        "caller_number": "79000000001",
        "caller_name": "Алиса",
        "queue": "hotline",
    }
    first = await client.post(f"/api/tickets/{uin}/calls", json=body, headers=auth("service"))
    assert first.status_code == 201, first.text
    again = await client.post(f"/api/tickets/{uin}/calls", json=body, headers=auth("service"))
    assert again.status_code == 200
    call = (await client.get("/api/calls/1795311765.42", headers=auth("agent"))).json()
    assert call["uin"] == uin and call["caller_name"] == "Алиса" and call["queue"] == "hotline"
    assert call["outcome"] == "in_progress" and call["transfer_count"] == 0
    events = (await client.get(f"/api/tickets/{uin}/events", headers=auth("agent"))).json()
    assert [e["action"] for e in events].count("call_attached") == 1


async def test_call_on_another_ticket_is_409(client: httpx.AsyncClient) -> None:
    first = (await create(client))["uin"]
    second = (await create(client))["uin"]
    body = {"linkedid": "1795311765.43"}
    await client.post(f"/api/tickets/{first}/calls", json=body, headers=auth("service"))
    response = await client.post(f"/api/tickets/{second}/calls", json=body, headers=auth("service"))
    assert response.status_code == 409 and first in response.json()["detail"]


async def test_unknown_call_is_404(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/calls/1795311765.999", headers=auth("agent"))
    assert response.status_code == 404


async def test_bad_linkedid_is_422(client: httpx.AsyncClient) -> None:
    uin = (await create(client))["uin"]
    response = await client.post(
        f"/api/tickets/{uin}/calls",
        json={"linkedid": "1.1\r\nAction: Hangup"},
        headers=auth("service"),
    )
    assert response.status_code == 422


async def test_text_search_ignores_case_in_cyrillic(client: httpx.AsyncClient) -> None:
    ticket = await create(client, summary="Не могу сменить пароль")
    found = (
        await client.get("/api/tickets", params={"text": "ПАРОЛЬ"}, headers=auth("agent"))
    ).json()
    assert [t["uin"] for t in found["items"]] == [ticket["uin"]]


async def test_one_search_box_finds_by_uin_phone_or_words(client: httpx.AsyncClient) -> None:
    """`q`: the desk's one box. A UIN (short form too), a phone in any spelling, or words."""
    alice = await create(client, caller_phone="+79000000001", summary="Не выгружается отчёт")
    bob = await create(client, caller_phone="+79000000002", summary="Сменить пароль")
    headers = auth("agent")

    async def found(q: str) -> list[str]:
        page = await client.get("/api/tickets", params={"q": q}, headers=headers)
        assert page.status_code == 200, page.text
        return [t["uin"] for t in page.json()["items"]]

    assert await found(str(bob["uin"])) == [bob["uin"]]
    assert await found(str(int(str(bob["uin"])))) == [bob["uin"]]  # the short form
    assert await found("8 (900) 000-00-02") == [bob["uin"]]
    assert await found("+7 900 000 00 01") == [alice["uin"]]
    assert await found("ПАРОЛЬ") == [bob["uin"]]
    assert await found(VALID_INN) == [bob["uin"], alice["uin"]]
    assert await found("nothing like it") == []
