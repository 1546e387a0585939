"""The agent desk in a real headless Chromium, against the stack with the simulated
Asterisk making the calls: the screen pop within 1 s of Asterisk's `AgentCalled`, two
transfers from the desk and the third refused with the reason shown, an invalid INN
marked and nothing saved, the queue login and pause, the ticket's lifecycle, search, and
an agent seeing only its own calls.

The tests of this module share one stack and run in order (one call goes through them);
each agent has a browser context of its own, logged in through the login form.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest_asyncio
from playwright.async_api import Page, expect
from sqlalchemy import select

from crm.people.errors import PersonExists
from crm.people.models import User
from tests.conftest import ROOT, TOKENS
from tests.pages.conftest import PAGES, PASSWORD, LiveSite
from tests.pages.desk_stack import DeskStack, desk_stack

pytestmark = PAGES
AGENTS = {"agent1": "Иванова", "agent2": "Петров", "agent3": "Сидоров"}
VALID_INN = "7707083893"
CONTEXT = {
    "summary": "Не подписывается декларация по НДС",
    "caller_full_name": "Иванова Мария Петровна",
    "org_inn": VALID_INN,
}
SCREENSHOT = ROOT / "docs" / "screenshots" / "desk.png"
POP_WITHIN_S = 1.0


class Desks:
    """One logged-in desk page per agent (agent1..3: the simulator's agents and transfer
    targets), opened on first use; the call under test."""

    def __init__(self, stack: DeskStack, browser: Any) -> None:
        self.stack = stack
        self.browser = browser
        self.logins: dict[str, str] = {}
        self.pages: dict[str, Page] = {}
        self.call: dict[str, Any] = {}

    async def of(self, agent: str) -> Page:
        if agent not in self.pages:
            site = self.stack.site
            if agent not in self.logins:
                self.logins[agent] = await self._login_of(agent)
            context = await self.browser.new_context(
                viewport={"width": 1280, "height": 800}, locale="ru-RU"
            )
            context.set_default_timeout(10_000)
            page = await context.new_page()
            await page.goto(site.url("/login"))
            await page.fill("input[name=username]", self.logins[agent])
            await page.fill("input[name=password]", PASSWORD)
            await page.click("button[type=submit]")
            await page.wait_for_url(site.url("/desk"))
            await expect(page.locator("#desk")).to_have_attribute("data-stream", "open")
            self.pages[agent] = page
        return self.pages[agent]

    async def _login_of(self, agent: str) -> str:
        """A person for the member `agent`; another page test of this session may have made
        one already (every harness person has the same password): that one then."""
        site = self.stack.site
        try:
            return (await site.add_person("agent", agent=agent, full_name=AGENTS[agent])).login
        except PersonExists:
            async with site.app.state.people.sessions() as session:
                login = await session.scalar(select(User.login).where(User.agent_member == agent))
            assert login is not None
            return str(login)

    async def close(self) -> None:
        for page in self.pages.values():
            await page.context.close()


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def desks(site: LiveSite, browser: Any) -> AsyncIterator[Desks]:
    async with desk_stack(site.settings) as stack:
        desks = Desks(stack, browser)
        try:
            yield desks
        finally:
            await desks.close()


async def _answered_by(desks: Desks, agent: str) -> None:
    """Until `agent`'s phone has answered the caller (a transfer is made from a call in
    talk; the screen pop comes while the phone rings)."""
    call = desks.call["sim_call"]
    deadline = time.monotonic() + 10
    while not (call.state == "bridged" and call.leg is not None and call.leg.agent == agent):
        assert time.monotonic() < deadline, f"{agent} never answered"
        await asyncio.sleep(0.05)


def _api(stack: DeskStack) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        base_url=stack.site.base_url,
        headers={"Authorization": f"Bearer {TOKENS['supervisor']}"},
        timeout=10,
    )


async def _api_from_page(page: Page, method: str, path: str, body: Any = None) -> dict[str, Any]:
    """The desk's own session calling the API (as a curious agent could, from its page)."""
    return await page.evaluate(
        """async ([method, path, body]) => {
            try { return {ok: true, data: await Hotline.api(method, path, body ?? undefined)}; }
            catch (e) { return {ok: false, status: e.status, detail: e.detail}; }
        }""",
        [method, path, body],
    )


async def test_a_ringing_call_pops_within_a_second_with_the_uin(desks: Desks) -> None:
    stack = desks.stack
    ivanova = await desks.of("agent1")
    await expect(ivanova.locator("#queue-state")).to_contain_text("Не в очереди")
    async with _api(stack) as api:
        reply = await api.post(
            "/api/tickets",
            json={
                "caller_phone": "+79000000001",
                "caller_name": "Мария",
                "org_name": "ООО «Ромашка»",
                "org_inn": VALID_INN,
                "summary": "Вопрос по НДС",
            },
        )
        ticket = reply.json()
        call = stack.sim.place_call("79000000001", "Мария")
        linkedid = call.two.linkedid
        await stack.ticketed(linkedid, ticket["uin"], ticket["id"])
        deadline = time.monotonic() + 5
        while (await api.get(f"/api/calls/{linkedid}/context")).json().get("uin") != ticket["uin"]:
            assert time.monotonic() < deadline, "the screen pops never learnt the UIN"
            await asyncio.sleep(0.05)
    desks.call.update(linkedid=linkedid, uin=ticket["uin"], sim_call=call)

    # The caller waits; the agent logs in to the queue from the desk and the phone rings.
    await ivanova.click("#queue-toggle")
    pop = ivanova.locator("#pop")
    await expect(pop).to_be_visible()
    await expect(pop).to_have_attribute("data-uin", ticket["uin"])
    called_at = stack.agent_called_at("agent1", linkedid)
    assert called_at is not None
    popped_at = int(await ivanova.locator("#desk").get_attribute("data-popped-at") or 0) / 1000
    print(f"screen pop on the desk {popped_at - called_at:.3f} s after AgentCalled")
    assert 0 <= popped_at - called_at < POP_WITHIN_S, popped_at - called_at
    await expect(ivanova.locator("#pop-uin")).to_have_text(ticket["uin"])
    await expect(ivanova.locator("#pop-caller")).to_contain_text("79000000001")
    await expect(ivanova.locator("#pop-org")).to_have_text("ООО «Ромашка»")
    await expect(ivanova.locator("#pop-inn")).to_have_text(VALID_INN)
    await expect(ivanova.locator("#pop-remaining")).to_contain_text("2")
    await expect(ivanova.locator("#queue-state")).to_contain_text("В очереди")


async def test_two_transfers_from_the_desk_and_the_third_refused(desks: Desks) -> None:
    linkedid, uin = desks.call["linkedid"], desks.call["uin"]
    petrov, sidorov = await desks.of("agent2"), await desks.of("agent3")
    ivanova = await desks.of("agent1")
    await expect(ivanova.locator("#pop")).to_have_attribute("data-uin", uin)
    # The context for the next specialist, then the transfer to agent2 (extension 200).
    await ivanova.fill("#summary", CONTEXT["summary"])
    await ivanova.fill("#caller_full_name", CONTEXT["caller_full_name"])
    await ivanova.fill("#org_inn", CONTEXT["org_inn"])
    await ivanova.click("#context-save")
    await expect(ivanova.locator("#context-status")).to_have_attribute("data-kind", "ok")
    await _answered_by(desks, "agent1")
    await ivanova.check("input[name='transfer-mode'][value='blind']")
    await ivanova.click("#transfers button[data-to='200']")
    await expect(ivanova.locator("#transfer-status")).to_have_attribute("data-kind", "ok")
    # The caller has left this desk: no second transfer from here.
    await expect(ivanova.locator("#transfers button[data-to='201']")).to_be_disabled()

    await expect(petrov.locator("#pop")).to_have_attribute("data-uin", uin)
    await expect(petrov.locator("#pop-chain")).to_contain_text(CONTEXT["summary"])
    await expect(petrov.locator("#summary")).to_have_value(CONTEXT["summary"])
    await expect(petrov.locator("#org_inn")).to_have_value(VALID_INN)
    await expect(petrov.locator("#pop-remaining")).to_contain_text("1")
    await petrov.fill("#summary", "Нужна вторая линия")
    await _answered_by(desks, "agent2")
    await petrov.click("#transfers button[data-to='201']")
    await expect(petrov.locator("#transfer-status")).to_have_attribute("data-kind", "ok")

    await expect(sidorov.locator("#pop")).to_have_attribute("data-uin", uin)
    await expect(sidorov.locator("#pop-chain")).to_contain_text("agent1")
    await expect(sidorov.locator("#pop-chain")).to_contain_text("agent2")
    await expect(sidorov.locator("#pop-remaining")).to_contain_text("0")
    # At the limit every transfer button is disabled and the reason is on the desk.
    for button in await sidorov.locator("#transfers button.transfer").all():
        await expect(button).to_be_disabled()
    await expect(sidorov.locator("#transfer-reason")).to_contain_text("(2)")
    # Asked anyway (a stale page, a hand-made request), Asterisk is never asked: 409.
    third = await _api_from_page(
        sidorov,
        "POST",
        f"/api/calls/{linkedid}/transfers",
        {"to": "300", "mode": "blind", **CONTEXT},
    )
    assert (third["ok"], third["status"]) == (False, 409)
    assert third["detail"] == "transfer limit reached (2)"
    async with _api(desks.stack) as api:
        chain = (await api.get(f"/api/tickets/{uin}/transfers")).json()
    assert [(t["n"], t["from_agent"], t["to"]) for t in chain] == [
        (1, "agent1", "200"),
        (2, "agent2", "201"),
    ]
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    await sidorov.screenshot(path=str(SCREENSHOT), full_page=False)


async def test_an_invalid_inn_is_marked_and_nothing_is_saved(desks: Desks) -> None:
    linkedid = desks.call["linkedid"]
    sidorov = await desks.of("agent3")
    puts: list[str] = []
    sidorov.on("request", lambda r: puts.append(r.url) if r.method == "PUT" else None)
    await sidorov.fill("#summary", "Другое описание")
    await sidorov.fill("#org_inn", "7707083894")  # one check digit wrong
    inn = sidorov.locator("#org_inn")
    await expect(inn).to_have_attribute("aria-invalid", "true")
    await expect(sidorov.locator("#inn-error")).not_to_be_empty()
    await sidorov.click("#context-save")
    await expect(sidorov.locator("#context-status")).to_have_attribute("data-kind", "error")
    assert puts == []
    async with _api(desks.stack) as api:
        saved = (await api.get(f"/api/calls/{linkedid}/context")).json()
    assert saved["org_inn"] == VALID_INN and saved["summary"] == "Нужна вторая линия"
    # Corrected, it is no longer marked.
    await sidorov.fill("#org_inn", VALID_INN)
    await expect(inn).to_have_attribute("aria-invalid", "false")


async def test_a_reloaded_desk_shows_the_call_it_is_on(desks: Desks) -> None:
    """The screen pop has gone by; the desk reads the agent's call from the live state."""
    uin = desks.call["uin"]
    sidorov = await desks.of("agent3")
    await sidorov.reload()
    await expect(sidorov.locator("#pop")).to_have_attribute("data-uin", uin)
    await expect(sidorov.locator("#summary")).to_have_value("Нужна вторая линия")
    await expect(sidorov.locator("#pop-remaining")).to_contain_text("0")
    await expect(sidorov.locator("#transfers button[data-to='300']")).to_be_disabled()
    await expect(sidorov.locator("#ticket-uin")).to_have_text(uin)
    # The first agent's desk, reloaded, shows the call it handed over: no transfer from it.
    ivanova = await desks.of("agent1")
    await ivanova.reload()
    await expect(ivanova.locator("#pop")).to_have_attribute("data-uin", uin)
    await expect(ivanova.locator("#transfers button[data-to='300']")).to_be_disabled()


async def test_the_ticket_lifecycle_and_sla_clock_from_the_desk(desks: Desks) -> None:
    uin = desks.call["uin"]
    sidorov = await desks.of("agent3")
    await expect(sidorov.locator("#ticket-uin")).to_have_text(uin)
    # Table 2: a consultation is never priority 1.
    await sidorov.select_option("#category", "ZnK")
    await expect(sidorov.locator("#priority option[value='1']")).to_be_disabled()
    await sidorov.select_option("#category", "INC")
    await sidorov.select_option("#priority", "2")
    await sidorov.click("#classify-save")
    await expect(sidorov.locator("#sla")).to_have_attribute("data-state", "running")
    await sidorov.select_option("#suspend-reason", "diagnostics")
    await sidorov.fill("#suspend-note", "Смотрим журналы")
    await sidorov.click("#suspend-form button[type=submit]")
    await expect(sidorov.locator("#ticket")).to_have_attribute("data-status", "suspended")
    await expect(sidorov.locator("#sla")).to_have_attribute("data-state", "paused")
    await sidorov.click("#resume-button")
    await expect(sidorov.locator("#ticket")).to_have_attribute("data-status", "in_progress")
    await sidorov.fill("#solution", "Переустановлен сертификат")
    await sidorov.click("#resolve-form button[type=submit]")
    await expect(sidorov.locator("#ticket")).to_have_attribute("data-status", "resolved")
    await sidorov.fill("#confirm-note", "Абонент подтвердил по телефону")
    await sidorov.click("#confirm-button")
    await expect(sidorov.locator("#ticket")).to_have_attribute("data-status", "closed")
    async with _api(desks.stack) as api:
        assert (await api.get(f"/api/tickets/{uin}")).json()["status"] == "closed"
        events = (await api.get(f"/api/tickets/{uin}/events")).json()
    # The audit log names the person, not the role.
    assert {desks.logins["agent3"]} <= {e["actor"] for e in events}


async def test_a_new_question_in_the_same_call_and_search(desks: Desks) -> None:
    linkedid, uin = desks.call["linkedid"], desks.call["uin"]
    sidorov = await desks.of("agent3")
    await sidorov.fill("#new-ticket input[name=summary]", "Как сменить пароль")
    await sidorov.click("#new-ticket-submit")
    await expect(sidorov.locator("#new-ticket-status")).to_have_attribute("data-kind", "ok")
    await expect(sidorov.locator("#ticket-uin")).not_to_have_text(uin)  # the new ticket, opened
    new_uin = await sidorov.locator("#ticket-uin").inner_text()
    assert new_uin.isdigit()
    async with _api(desks.stack) as api:
        call = (await api.get(f"/api/calls/{linkedid}")).json()
    assert new_uin in call["uins"]
    for q, wanted in (("8 900 000-00-01", uin), (str(int(uin)), uin), ("пароль", new_uin)):
        await sidorov.fill("#q", q)
        await sidorov.click("#search-form button[type=submit]")
        await expect(sidorov.locator("#search-results")).to_contain_text(wanted)


async def test_queue_pause_with_a_reason_and_back(desks: Desks) -> None:
    stack = desks.stack
    ivanova = await desks.of("agent1")
    await ivanova.select_option("#pause-reason", "lunch")
    await ivanova.click("#pause-button")
    await expect(ivanova.locator("#desk")).to_have_attribute("data-queue", "paused")
    member = stack.sim.pbx.queues["hotline"].members["Local/agent1@agents/n"]
    assert (member.paused, member.paused_reason) == (True, "lunch")
    await ivanova.click("#unpause-button")
    await expect(ivanova.locator("#desk")).to_have_attribute("data-queue", "in")
    assert member.paused is False
    await ivanova.click("#queue-toggle")
    await expect(ivanova.locator("#desk")).to_have_attribute("data-queue", "out")
    assert "Local/agent1@agents/n" not in stack.sim.pbx.queues["hotline"].members


async def test_an_agent_sees_only_its_own_calls(desks: Desks) -> None:
    uin = desks.call["uin"]
    ivanova = await desks.of("agent1")
    await ivanova.click("#my-calls-refresh")
    await expect(ivanova.locator("#my-calls tbody")).to_contain_text(uin)
    for path in ("/api/calls?agent=agent2", "/api/agents/agent2/queue"):
        answer = await _api_from_page(ivanova, "GET", path)
        assert (answer["ok"], answer["status"]) == (False, 403), path
    stream = await ivanova.evaluate("async () => (await fetch('/api/agents/agent2/events')).status")
    assert stream == 403
    pause = await _api_from_page(
        ivanova, "POST", "/api/agents/agent2/pause", {"paused": True, "reason": "lunch"}
    )
    assert (pause["ok"], pause["status"]) == (False, 403)
