"""An expired session sends the person back to the login, and the form's input is kept:
for a plain form post (kept by the server) and for a JavaScript API call (by hotline.js)."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import parse_qs, urlsplit

import pytest_asyncio
from fastapi import Depends, Request
from starlette.responses import Response

from crm.people.service import Person
from crm.web.auth import page_user
from tests.pages.conftest import PAGES, PASSWORD, LiveSite

pytestmark = PAGES
FORM_PAGE = "/test-pages/form"
FORM = """{% extends "base.html" %}{% block content %}
<form method="post" action="/test-pages/form">
  <input type="hidden" name="csrf_token" value="{{ csrf_token }}">
  <input name="summary"><textarea name="note"></textarea>
  <select name="priority"><option>1</option><option>2</option><option>3</option></select>
  <button id="post" type="submit">post</button>
  <button id="api" type="button"
    onclick="Hotline.post('/api/tickets', {category: 'ZnK', priority: 3})">api</button>
  <button id="htmx" type="button" hx-post="/test-pages/form" hx-include="closest form"
    hx-target="#main">htmx</button>
</form>{% endblock %}"""


@pytest_asyncio.fixture(loop_scope="session")
async def form_page(site: LiveSite) -> str:
    """A page with a form, added to the served app (a stand-in for the desk's forms)."""
    if not any(getattr(r, "path", None) == FORM_PAGE for r in site.app.router.routes):

        async def form(
            request: Request, person: Annotated[Person, Depends(page_user("agent"))]
        ) -> Response:
            pages = request.app.state.pages
            template = pages.environments[pages.language_of(request, person)].from_string(FORM)
            return pages.render(request, template, person=person)  # type: ignore[arg-type]

        site.app.router.add_api_route(FORM_PAGE, form, methods=["GET", "POST"])
    return site.url(FORM_PAGE)


async def _fill(page: Any) -> None:
    await page.fill("input[name=summary]", "Не печатает принтер")
    await page.fill("textarea[name=note]", "третий этаж")
    await page.select_option("select[name=priority]", "2")


async def _log_in_again(page: Any, site: LiveSite, login: str) -> None:
    await page.wait_for_url(site.url("/login?next=") + "**")
    assert parse_qs(urlsplit(page.url).query)["next"] == [FORM_PAGE]
    await page.fill("input[name=username]", login)
    await page.fill("input[name=password]", PASSWORD)
    await page.click("button[type=submit]")
    await page.wait_for_url(site.url(FORM_PAGE))


async def _assert_kept(page: Any) -> None:
    assert await page.input_value("input[name=summary]") == "Не печатает принтер"
    assert await page.input_value("textarea[name=note]") == "третий этаж"
    assert await page.input_value("select[name=priority]") == "2"


async def test_a_form_posted_after_the_session_expired_is_kept_through_the_login(
    page: Any, site: LiveSite, form_page: str
) -> None:
    person = await site.add_person("agent")
    await page.goto(site.url("/login"))
    await page.fill("input[name=username]", person.login)
    await page.fill("input[name=password]", PASSWORD)
    await page.click("button[type=submit]")
    await page.goto(form_page)
    await _fill(page)
    await page.context.clear_cookies()  # the session expired
    await page.click("#post")
    await _log_in_again(page, site, person.login)
    await _assert_kept(page)
    # once only: the next visit starts empty
    await page.reload()
    assert await page.input_value("input[name=summary]") == ""


async def test_an_api_call_after_the_session_expired_keeps_the_page_input(
    page: Any, site: LiveSite, form_page: str
) -> None:
    person = await site.add_person("agent")
    await page.goto(site.url("/login?next=/test-pages/form"))
    await page.fill("input[name=username]", person.login)
    await page.fill("input[name=password]", PASSWORD)
    await page.click("button[type=submit]")
    await page.wait_for_url(form_page)
    await _fill(page)
    await page.context.clear_cookies()
    await page.click("#api")
    await _log_in_again(page, site, person.login)
    await _assert_kept(page)


async def test_an_htmx_post_after_the_session_expired_keeps_the_page_input(
    page: Any, site: LiveSite, form_page: str
) -> None:
    person = await site.add_person("agent")
    await page.goto(site.url("/login?next=/test-pages/form"))
    await page.fill("input[name=username]", person.login)
    await page.fill("input[name=password]", PASSWORD)
    await page.click("button[type=submit]")
    await page.wait_for_url(form_page)
    await _fill(page)
    await page.context.clear_cookies()
    await page.click("#htmx")
    await _log_in_again(page, site, person.login)
    await _assert_kept(page)
