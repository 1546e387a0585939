"""Every UIN lookup takes the short form a caller hears ("208" for 00000208); withdrawn UINs.

On SQLite and PostgreSQL, over HTTP, like the other CRM tests.
"""

from __future__ import annotations

import httpx
import pytest

from core.uin import InvalidUin, canonical_uin, short_uin, spoken_groups
from tests.conftest import auth
from tests.crm.test_tickets_api import create


def test_canonical_uin_zero_fills_and_refuses_what_cannot_be_one() -> None:
    assert canonical_uin("208", 8) == "00000208"
    assert canonical_uin(" 12 345 ", 8) == "00012345"
    assert canonical_uin("00000208", 8) == "00000208"
    assert canonical_uin("000000208", 8) == "00000208"  # a zero too many is still 208
    for bad, why in [("", "required"), ("12a", "digits only"), ("123456789", "at most 8")]:
        with pytest.raises(InvalidUin, match=why):
            canonical_uin(bad, 8)


def test_short_form_and_groups_drop_the_padding() -> None:
    assert short_uin("00000208") == "208"
    assert spoken_groups("00012345") == ["12", "345"]
    assert spoken_groups("12345678") == ["12", "345", "678"]
    assert spoken_groups("00000007") == ["7"]


async def test_every_uin_path_takes_the_short_form(client: httpx.AsyncClient) -> None:
    ticket = await create(client)
    uin = ticket["uin"]
    short = uin.lstrip("0")
    assert short != uin  # a fresh database: the UIN has padding zeros
    got = await client.get(f"/api/tickets/{short}", headers=auth("agent"))
    assert got.status_code == 200, got.text
    assert got.json()["uin"] == uin
    events = await client.get(f"/api/tickets/{short}/events", headers=auth("agent"))
    assert events.status_code == 200 and events.json()
    sla = await client.get(f"/api/tickets/{short}/sla", headers=auth("agent"))
    assert sla.status_code == 200, sla.text
    patched = await client.patch(
        f"/api/tickets/{short}", json={"summary": "по короткому номеру"}, headers=auth("agent")
    )
    assert patched.status_code == 200 and patched.json()["uin"] == uin
    found = await client.get("/api/tickets", params={"text": short}, headers=auth("agent"))
    assert [t["uin"] for t in found.json()["items"]] == [uin]


async def test_a_uin_that_cannot_be_one_is_422_naming_the_path(client: httpx.AsyncClient) -> None:
    for bad in ("12x", "1234567890123"):
        reply = await client.get(f"/api/tickets/{bad}", headers=auth("agent"))
        assert reply.status_code == 422, reply.text
        assert reply.json()["detail"][0]["loc"] == ["path", "uin"]


async def _call_on(client: httpx.AsyncClient, uin: str, linkedid: str) -> None:
    reply = await client.post(
        f"/api/tickets/{uin}/calls", json={"linkedid": linkedid}, headers=auth("service")
    )
    assert reply.status_code == 201, reply.text


async def test_withdrawn_uin_goes_into_the_existing_ticket_and_out_of_the_counts(
    client: httpx.AsyncClient,
) -> None:
    existing = (await create(client))["uin"]
    new = (await create(client))["uin"]
    await _call_on(client, new, "1700000000.1")
    before = (await client.get("/api/tickets", headers=auth("supervisor"))).json()["total"]
    reply = await client.post(
        f"/api/tickets/{new}/withdraw",
        json={"into": existing.lstrip("0")},
        headers=auth("service"),
    )
    assert reply.status_code == 200, reply.text
    assert reply.json()["status"] == "withdrawn"
    assert reply.json()["withdrawn_into"] == existing
    # The lookup of the withdrawn UIN says where it went.
    looked_up = (await client.get(f"/api/tickets/{new}", headers=auth("agent"))).json()
    assert (looked_up["status"], looked_up["withdrawn_into"]) == ("withdrawn", existing)
    # Out of the lists and their totals, unless asked for by status.
    listed = (await client.get("/api/tickets", headers=auth("supervisor"))).json()
    assert listed["total"] == before - 1
    assert new not in [t["uin"] for t in listed["items"]]
    only = await client.get(
        "/api/tickets", params={"status": "withdrawn"}, headers=auth("supervisor")
    )
    assert [t["uin"] for t in only.json()["items"]] == [new]
    # The call is the existing ticket's now.
    call = (await client.get("/api/calls/1700000000.1", headers=auth("agent"))).json()
    assert call["uin"] == existing and call["uins"] == [existing]
    # Audited on both tickets, with the reason.
    rows = (await client.get(f"/api/tickets/{new}/events", headers=auth("agent"))).json()
    assert rows[-1]["action"] == "status_changed" and rows[-1]["new_value"] == "withdrawn"
    assert rows[-1]["data"]["into"] == existing and rows[-1]["data"]["reason"]
    rows = (await client.get(f"/api/tickets/{existing}/events", headers=auth("agent"))).json()
    assert rows[-1]["action"] == "uin_withdrawn_into" and rows[-1]["new_value"] == new
    # A retry changes nothing; into another ticket it is a conflict.
    again = await client.post(
        f"/api/tickets/{new}/withdraw", json={"into": existing}, headers=auth("service")
    )
    assert again.status_code == 200
    other = (await create(client))["uin"]
    clash = await client.post(
        f"/api/tickets/{new}/withdraw", json={"into": other}, headers=auth("service")
    )
    assert clash.status_code == 409
    # The UIN is never given again.
    assert (await create(client))["uin"] not in (new, existing, other)


async def test_withdraw_is_for_the_service_and_refuses_what_makes_no_sense(
    client: httpx.AsyncClient,
) -> None:
    existing = (await create(client))["uin"]
    new = (await create(client))["uin"]
    path = f"/api/tickets/{new}/withdraw"
    assert (
        await client.post(path, json={"into": existing}, headers=auth("agent"))
    ).status_code == 403
    for into in (new, "99999"):
        reply = await client.post(path, json={"into": into}, headers=auth("service"))
        assert reply.status_code == 422, reply.text
        assert reply.json()["detail"][0]["loc"] == ["body", "into"]
    worked = await client.patch(
        f"/api/tickets/{new}", json={"status": "in_progress"}, headers=auth("agent")
    )
    assert worked.status_code == 200
    late = await client.post(path, json={"into": existing}, headers=auth("service"))
    assert late.status_code == 409  # someone works on it: not the IVR's to withdraw
    patch = await client.patch(
        f"/api/tickets/{existing}", json={"status": "withdrawn"}, headers=auth("agent")
    )
    assert patch.status_code == 422
