"""The agent desk in a real headless Chromium, against the stack with the simulated
Asterisk making the calls: the screen pop within 1 s of Asterisk's `AgentCalled`, two
transfers from the desk and the third refused with the reason shown, an invalid INN
marked and nothing saved, the queue login and pause, the ticket's lifecycle, search, and
an agent seeing only its own calls.

The tests of this module share one stack and one browser and run in order (one call
goes through them); each logs its agents in with a browser context of its own.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests.conftest import ROOT, TOKENS
from tests.pages.desk_stack import DeskStack

PASSWORD = "desk-password-0123"
AGENTS = {"ivanova": "agent1", "petrov": "agent2", "sidorov": "agent3"}
VALID_INN = "7707083893"
CONTEXT = {
    "summary": "Не подписывается декларация по НДС",
    "caller_full_name": "Иванова Мария Петровна",
    "org_inn": VALID_INN,
}
SCREENSHOT = ROOT / "docs" / "screenshots" / "desk.png"
POP_WITHIN_S = 1.0


@pytest.fixture(scope="module")
def stack() -> Iterator[DeskStack]:
    stack = DeskStack()
    stack.start()
    try:
        for login, member in AGENTS.items():
            stack.wait(
                stack.add_person(
                    login, PASSWORD, "agent", agent_member=member, full_name=login.title()
                )
            )
        yield stack
    finally:
        stack.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", headless=True)
        try:
            yield browser
        finally:
            browser.close()


class Desks:
    """One logged-in desk page per agent, opened on first use; the call under test."""

    def __init__(self, stack: DeskStack, browser: Browser) -> None:
        self.stack = stack
        self.browser = browser
        self.pages: dict[str, Page] = {}
        self.call: dict[str, Any] = {}

    def of(self, login: str) -> Page:
        if login not in self.pages:
            context = self.browser.new_context(
                viewport={"width": 1280, "height": 800}, locale="ru-RU"
            )
            page = context.new_page()
            page.goto(f"{self.stack.url}/login")
            page.fill("input[name=username]", login)
            page.fill("input[name=password]", PASSWORD)
            page.click("button[type=submit]")
            page.wait_for_url(f"{self.stack.url}/desk")
            expect(page.locator("#desk")).to_have_attribute("data-stream", "open")
            self.pages[login] = page
        return self.pages[login]

    def close(self) -> None:
        for page in self.pages.values():
            page.context.close()


@pytest.fixture(scope="module")
def desks(stack: DeskStack, browser: Browser) -> Iterator[Desks]:
    desks = Desks(stack, browser)
    try:
        yield desks
    finally:
        desks.close()


def _api(stack: DeskStack) -> httpx.Client:
    return httpx.Client(
        base_url=stack.url,
        headers={"Authorization": f"Bearer {TOKENS['supervisor']}"},
        timeout=10,
    )


def _api_from_page(page: Page, method: str, path: str, body: Any = None) -> dict[str, Any]:
    """The desk's own session calling the API (as a curious agent could, from its page)."""
    return page.evaluate(
        """async ([method, path, body]) => {
            try { return {ok: true, data: await Hotline.api(method, path, body ?? undefined)}; }
            catch (e) { return {ok: false, status: e.status, detail: e.detail}; }
        }""",
        [method, path, body],
    )


def test_a_ringing_call_pops_within_a_second_with_the_uin(desks: Desks) -> None:
    stack = desks.stack
    ivanova = desks.of("ivanova")
    expect(ivanova.locator("#queue-state")).to_contain_text("Не в очереди")
    with _api(stack) as api:
        ticket = api.post(
            "/api/tickets",
            json={
                "caller_phone": "+79000000001",
                "caller_name": "Мария",
                "org_name": "ООО «Ромашка»",
                "org_inn": VALID_INN,
                "summary": "Вопрос по НДС",
            },
        ).json()
        call = stack.run(lambda: stack.sim.place_call("79000000001", "Мария"))
        linkedid = call.two.linkedid
        stack.wait(stack.ticketed(linkedid, ticket["uin"], ticket["id"]))
        deadline = time.monotonic() + 5
        while api.get(f"/api/calls/{linkedid}/context").json().get("uin") != ticket["uin"]:
            assert time.monotonic() < deadline, "the screen pops never learnt the UIN"
            time.sleep(0.05)
    desks.call.update(linkedid=linkedid, uin=ticket["uin"])

    # The caller waits; the agent logs in to the queue from the desk and the phone rings.
    ivanova.click("#queue-toggle")
    pop = ivanova.locator("#pop")
    expect(pop).to_be_visible()
    expect(pop).to_have_attribute("data-uin", ticket["uin"])
    called_at = stack.agent_called_at("agent1", linkedid)
    assert called_at is not None
    popped_at = int(ivanova.locator("#desk").get_attribute("data-popped-at") or 0) / 1000
    print(f"screen pop on the desk {popped_at - called_at:.3f} s after AgentCalled")
    assert 0 <= popped_at - called_at < POP_WITHIN_S, popped_at - called_at
    expect(ivanova.locator("#pop-uin")).to_have_text(ticket["uin"])
    expect(ivanova.locator("#pop-caller")).to_contain_text("79000000001")
    expect(ivanova.locator("#pop-org")).to_have_text("ООО «Ромашка»")
    expect(ivanova.locator("#pop-inn")).to_have_text(VALID_INN)
    expect(ivanova.locator("#pop-remaining")).to_contain_text("2")
    expect(ivanova.locator("#queue-state")).to_contain_text("В очереди")


def test_two_transfers_from_the_desk_and_the_third_refused(desks: Desks) -> None:
    linkedid, uin = desks.call["linkedid"], desks.call["uin"]
    petrov, sidorov = desks.of("petrov"), desks.of("sidorov")
    ivanova = desks.of("ivanova")
    expect(ivanova.locator("#pop")).to_have_attribute("data-uin", uin)
    # The context for the next specialist, then the transfer to agent2 (extension 200).
    ivanova.fill("#summary", CONTEXT["summary"])
    ivanova.fill("#caller_full_name", CONTEXT["caller_full_name"])
    ivanova.fill("#org_inn", CONTEXT["org_inn"])
    ivanova.click("#context-save")
    expect(ivanova.locator("#context-status")).to_have_attribute("data-kind", "ok")
    ivanova.check("input[name='transfer-mode'][value='blind']")
    ivanova.click("#transfers button[data-to='200']")
    expect(ivanova.locator("#transfer-status")).to_have_attribute("data-kind", "ok")
    # The caller has left this desk: no second transfer from here.
    expect(ivanova.locator("#transfers button[data-to='201']")).to_be_disabled()

    expect(petrov.locator("#pop")).to_have_attribute("data-uin", uin)
    expect(petrov.locator("#pop-chain")).to_contain_text(CONTEXT["summary"])
    expect(petrov.locator("#summary")).to_have_value(CONTEXT["summary"])
    expect(petrov.locator("#org_inn")).to_have_value(VALID_INN)
    expect(petrov.locator("#pop-remaining")).to_contain_text("1")
    petrov.fill("#summary", "Нужна вторая линия")
    petrov.click("#transfers button[data-to='201']")
    expect(petrov.locator("#transfer-status")).to_have_attribute("data-kind", "ok")

    expect(sidorov.locator("#pop")).to_have_attribute("data-uin", uin)
    expect(sidorov.locator("#pop-chain")).to_contain_text("agent1")
    expect(sidorov.locator("#pop-chain")).to_contain_text("agent2")
    expect(sidorov.locator("#pop-remaining")).to_contain_text("0")
    # At the limit every transfer button is disabled and the reason is on the desk.
    for button in sidorov.locator("#transfers button.transfer").all():
        expect(button).to_be_disabled()
    expect(sidorov.locator("#transfer-reason")).to_contain_text("(2)")
    # Asked anyway (a stale page, a hand-made request), Asterisk is never asked: 409.
    third = _api_from_page(
        sidorov,
        "POST",
        f"/api/calls/{linkedid}/transfers",
        {"to": "300", "mode": "blind", **CONTEXT},
    )
    assert (third["ok"], third["status"]) == (False, 409)
    assert third["detail"] == "transfer limit reached (2)"
    with _api(desks.stack) as api:
        chain = api.get(f"/api/tickets/{uin}/transfers").json()
    assert [(t["n"], t["from_agent"], t["to"]) for t in chain] == [
        (1, "agent1", "200"),
        (2, "agent2", "201"),
    ]
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    sidorov.screenshot(path=str(SCREENSHOT), full_page=False)


def test_an_invalid_inn_is_marked_and_nothing_is_saved(desks: Desks) -> None:
    linkedid = desks.call["linkedid"]
    sidorov = desks.of("sidorov")
    puts: list[str] = []
    sidorov.on("request", lambda r: puts.append(r.url) if r.method == "PUT" else None)
    sidorov.fill("#summary", "Другое описание")
    sidorov.fill("#org_inn", "7707083894")  # one check digit wrong
    inn = sidorov.locator("#org_inn")
    expect(inn).to_have_attribute("aria-invalid", "true")
    expect(sidorov.locator("#inn-error")).not_to_be_empty()
    sidorov.click("#context-save")
    expect(sidorov.locator("#context-status")).to_have_attribute("data-kind", "error")
    assert puts == []
    with _api(desks.stack) as api:
        saved = api.get(f"/api/calls/{linkedid}/context").json()
    assert saved["org_inn"] == VALID_INN and saved["summary"] == "Нужна вторая линия"
    # Corrected, it is no longer marked.
    sidorov.fill("#org_inn", VALID_INN)
    expect(inn).to_have_attribute("aria-invalid", "false")


def test_the_ticket_lifecycle_and_sla_clock_from_the_desk(desks: Desks) -> None:
    uin = desks.call["uin"]
    sidorov = desks.of("sidorov")
    expect(sidorov.locator("#ticket-uin")).to_have_text(uin)
    # Table 2: a consultation is never priority 1.
    sidorov.select_option("#category", "ZnK")
    expect(sidorov.locator("#priority option[value='1']")).to_be_disabled()
    sidorov.select_option("#category", "INC")
    sidorov.select_option("#priority", "2")
    sidorov.click("#classify-save")
    expect(sidorov.locator("#sla")).to_have_attribute("data-state", "running")
    sidorov.select_option("#suspend-reason", "diagnostics")
    sidorov.fill("#suspend-note", "Смотрим журналы")
    sidorov.click("#suspend-form button[type=submit]")
    expect(sidorov.locator("#ticket")).to_have_attribute("data-status", "suspended")
    expect(sidorov.locator("#sla")).to_have_attribute("data-state", "paused")
    sidorov.click("#resume-button")
    expect(sidorov.locator("#ticket")).to_have_attribute("data-status", "in_progress")
    sidorov.fill("#solution", "Переустановлен сертификат")
    sidorov.click("#resolve-form button[type=submit]")
    expect(sidorov.locator("#ticket")).to_have_attribute("data-status", "resolved")
    sidorov.fill("#confirm-note", "Абонент подтвердил по телефону")
    sidorov.click("#confirm-button")
    expect(sidorov.locator("#ticket")).to_have_attribute("data-status", "closed")
    with _api(desks.stack) as api:
        assert api.get(f"/api/tickets/{uin}").json()["status"] == "closed"
        events = api.get(f"/api/tickets/{uin}/events").json()
    # The audit log names the person, not the role.
    assert {"sidorov"} <= {e["actor"] for e in events}


def test_a_new_question_in_the_same_call_and_search(desks: Desks) -> None:
    linkedid, uin = desks.call["linkedid"], desks.call["uin"]
    sidorov = desks.of("sidorov")
    sidorov.fill("#new-ticket input[name=summary]", "Как сменить пароль")
    sidorov.click("#new-ticket-submit")
    expect(sidorov.locator("#new-ticket-status")).to_have_attribute("data-kind", "ok")
    expect(sidorov.locator("#ticket-uin")).not_to_have_text(uin)  # the new ticket, opened
    new_uin = sidorov.locator("#ticket-uin").inner_text()
    assert new_uin.isdigit()
    with _api(desks.stack) as api:
        call = api.get(f"/api/calls/{linkedid}").json()
    assert new_uin in call["uins"]
    for q, wanted in (("8 900 000-00-01", uin), (str(int(uin)), uin), ("пароль", new_uin)):
        sidorov.fill("#q", q)
        sidorov.click("#search-form button[type=submit]")
        expect(sidorov.locator("#search-results")).to_contain_text(wanted)


def test_queue_pause_with_a_reason_and_back(desks: Desks) -> None:
    stack = desks.stack
    ivanova = desks.of("ivanova")
    ivanova.select_option("#pause-reason", "lunch")
    ivanova.click("#pause-button")
    expect(ivanova.locator("#desk")).to_have_attribute("data-queue", "paused")
    member = stack.run(lambda: stack.sim.pbx.queues["hotline"].members["Local/agent1@agents/n"])
    assert (member.paused, member.paused_reason) == (True, "lunch")
    ivanova.click("#unpause-button")
    expect(ivanova.locator("#desk")).to_have_attribute("data-queue", "in")
    assert stack.run(lambda: member.paused) is False
    ivanova.click("#queue-toggle")
    expect(ivanova.locator("#desk")).to_have_attribute("data-queue", "out")
    assert stack.run(lambda: "Local/agent1@agents/n" not in stack.sim.pbx.queues["hotline"].members)


def test_an_agent_sees_only_its_own_calls(desks: Desks) -> None:
    uin = desks.call["uin"]
    ivanova = desks.of("ivanova")
    ivanova.click("#my-calls-refresh")
    expect(ivanova.locator("#my-calls tbody")).to_contain_text(uin)
    for path in ("/api/calls?agent=agent2", "/api/agents/agent2/queue"):
        answer = _api_from_page(ivanova, "GET", path)
        assert (answer["ok"], answer["status"]) == (False, 403), path
    stream = ivanova.evaluate("async () => (await fetch('/api/agents/agent2/events')).status")
    assert stream == 403
    pause = _api_from_page(
        ivanova, "POST", "/api/agents/agent2/pause", {"paused": True, "reason": "lunch"}
    )
    assert (pause["ok"], pause["status"]) == (False, 403)
