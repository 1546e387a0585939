"""The login flow in a real headless Chromium, against the app served on PostgreSQL."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any

from crm.people.service import Person
from tests.pages.conftest import PAGES, PASSWORD, LiveSite

pytestmark = PAGES

GENERIC = "Неверный логин или пароль, либо учётная запись заблокирована."
LoggedIn = Callable[..., Awaitable[Person]]


async def test_a_supervisor_logs_in_and_lands_on_the_wallboard(page: Any, site: LiveSite) -> None:
    person = await site.add_person("supervisor", full_name="Анна Смирнова")
    await page.goto(site.url("/"))
    assert page.url == site.url("/login")
    assert await page.locator("html").get_attribute("lang") == "ru"
    await page.fill("input[name=username]", person.login)
    await page.fill("input[name=password]", PASSWORD)
    await page.click("button[type=submit]")
    await page.wait_for_url(site.url("/wallboard"))
    assert await page.locator(".who").inner_text() == "Анна Смирнова"
    assert await page.evaluate("typeof htmx") == "object", "htmx is served by the app"
    assert await page.evaluate("typeof Hotline.api") == "function"
    assert await page.locator('meta[name="csrf-token"]').get_attribute("content")
    assert site.external_requests == []
    # logging out goes back to the login page; the wallboard then asks for a login
    await page.click(".logout button")
    await page.wait_for_url(site.url("/login"))
    await page.goto(site.url("/wallboard"))
    assert page.url == site.url("/login?next=/wallboard")


async def test_a_wrong_password_shows_the_generic_message_and_keeps_the_login(
    page: Any, site: LiveSite
) -> None:
    person = await site.add_person("supervisor")
    await page.goto(site.url("/login"))
    await page.fill("input[name=username]", person.login)
    await page.fill("input[name=password]", "not-the-password")
    await page.click("button[type=submit]")
    await page.wait_for_selector(".error")
    assert await page.locator(".error").inner_text() == GENERIC
    assert await page.input_value("input[name=username]") == person.login
    assert await page.input_value("input[name=password]") == ""


async def test_a_page_asked_for_without_a_session_comes_back_after_the_login(
    page: Any, site: LiveSite
) -> None:
    person = await site.add_person("agent")
    await page.goto(site.url("/desk?call=1.2"))
    assert page.url == site.url("/login?next=/desk%3Fcall%3D1.2")
    await page.fill("input[name=username]", person.login)
    await page.fill("input[name=password]", PASSWORD)
    await page.click("button[type=submit]")
    await page.wait_for_url(site.url("/desk?call=1.2"))


async def test_an_agent_cannot_open_the_wallboard(
    page: Any, site: LiveSite, logged_in: LoggedIn
) -> None:
    await logged_in(page, "agent")
    response = await page.goto(site.url("/wallboard"))
    assert response is not None and response.status == 403
    assert "Эта страница не для вашей роли." in await page.content()


async def test_javascript_calls_the_api_with_the_csrf_token(
    page: Any, site: LiveSite, logged_in: LoggedIn
) -> None:
    person = await logged_in(page, "supervisor")
    created = await page.evaluate(
        """() => Hotline.post("/api/tickets", {category: "ZnK", priority: 3, summary: "js"})"""
    )
    assert re.fullmatch(r"\d+", created["uin"])
    events = await page.evaluate(f"""() => Hotline.get("/api/tickets/{created["uin"]}/events")""")
    assert {e["actor"] for e in events} == {person.login}
    bare = await page.evaluate(
        """() => fetch("/api/tickets", {method: "POST", headers: {"Content-Type":
        "application/json"}, body: JSON.stringify({category: "ZnK", priority: 3})})
        .then(r => r.status)"""
    )
    assert bare == 403, "a post without the CSRF token is refused"
    failed = await page.evaluate(
        """() => Hotline.patch("/api/tickets/99999999", {priority: 2})
        .then(() => null, e => [e.name, e.status])"""
    )
    assert failed == ["ApiError", 404]


async def test_the_language_switch_is_kept(page: Any, site: LiveSite, logged_in: LoggedIn) -> None:
    await logged_in(page, "supervisor")
    assert await page.locator(".logout button").inner_text() == "Выйти"
    await page.click("button[name=language][value=en]")
    await page.wait_for_url(site.url("/wallboard"))
    assert await page.locator(".logout button").inner_text() == "Log out"
    assert await page.locator("html").get_attribute("lang") == "en"
