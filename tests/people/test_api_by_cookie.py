"""The JSON API with a person's session cookie: CSRF on unsafe methods, roles, the agent
bound to its own member name, and the audit log naming the person."""

from __future__ import annotations

from tests.conftest import auth
from tests.people.conftest import Site

TICKET = {"category": "ZnK", "priority": 3, "summary": "printer"}


async def test_cookie_post_without_csrf_is_refused_and_with_it_accepted(site: Site) -> None:
    await site.add("morozova")
    await site.login("morozova")
    refused = await site.http.post("/api/tickets", json=TICKET)
    assert refused.status_code == 403
    assert "CSRF" in refused.json()["detail"]
    wrong = await site.http.post("/api/tickets", json=TICKET, headers={"X-CSRF-Token": "nope"})
    assert wrong.status_code == 403
    token = await site.csrf("/wallboard")
    created = await site.http.post("/api/tickets", json=TICKET, headers={"X-CSRF-Token": token})
    assert created.status_code == 201, created.text
    assert (await site.http.get("/api/tickets")).status_code == 200, "GET needs no token"


async def test_the_audit_log_names_the_person(site: Site) -> None:
    await site.add("belova", "agent", "agent03")
    await site.login("belova")
    token = await site.csrf("/desk")
    created = await site.http.post("/api/tickets", json=TICKET, headers={"X-CSRF-Token": token})
    uin = created.json()["uin"]
    patched = await site.http.patch(
        f"/api/tickets/{uin}", json={"priority": 2}, headers={"X-CSRF-Token": token}
    )
    assert patched.status_code == 200, patched.text
    events = (await site.http.get(f"/api/tickets/{uin}/events")).json()
    assert events and {e["actor"] for e in events} == {"belova"}


async def test_bearer_requests_need_no_csrf_and_name_their_role(site: Site) -> None:
    await site.add("gromov")
    await site.login("gromov")  # a session cookie too: the bearer token wins
    created = await site.http.post("/api/tickets", json=TICKET, headers=auth("supervisor"))
    assert created.status_code == 201
    events = (await site.http.get(f"/api/tickets/{created.json()['uin']}/events")).json()
    assert {e["actor"] for e in events} == {"supervisor"}
    bad = await site.http.get("/api/tickets", headers={"Authorization": "Bearer wrong-wrong-wrong"})
    assert bad.status_code == 401, "a wrong token is not helped by the cookie"


async def test_an_agent_person_is_bound_to_its_own_member(site: Site) -> None:
    await site.add("agent-b", "agent", "agent02")
    await site.login("agent-b")
    assert (await site.http.get("/api/calls", params={"agent": "agent02"})).status_code == 200
    other = await site.http.get("/api/calls", params={"agent": "agent01"})
    assert other.status_code == 403
    assert (await site.http.get("/api/sla/at-risk")).status_code == 403
    stream = await site.http.get("/api/agents/agent01/events")
    assert stream.status_code == 403


async def test_a_disabled_persons_cookie_opens_nothing(site: Site) -> None:
    await site.add("frolov")
    await site.login("frolov")
    assert (await site.http.get("/api/tickets")).status_code == 200
    site.clock.advance(1)
    await site.people.disable("frolov")
    assert (await site.http.get("/api/tickets")).status_code == 401


async def test_a_proxys_basic_auth_header_leaves_the_session_in_charge(site: Site) -> None:
    await site.add("basic-user")
    await site.login("basic-user")
    behind_proxy = {"Authorization": "Basic cHJveHk6cGFzcw=="}
    assert (await site.http.get("/api/tickets", headers=behind_proxy)).status_code == 200
    # a service's bearer call never touches a session: no cookie set or renewed
    site.http.cookies.clear()
    served = await site.http.get("/api/tickets", headers=auth("service"))
    assert served.status_code == 200 and "set-cookie" not in served.headers
