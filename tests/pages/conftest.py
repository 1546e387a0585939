"""Browser tests: the CRM app served by uvicorn on PostgreSQL and Redis, driven by a real
headless Chromium (Debian's `chromium`, which `scripts/ensure-services` installs) through
Playwright for Python's async API. Playwright's own browser download is never used.

Everything here runs on ONE event loop for the whole session: every test module starts
with `pytestmark = PAGES` (pytest-asyncio's `loop_scope="session"`): the app, its database pool
and the browser live on it. (Playwright's sync API would mark the main thread's loop as
running for the whole session and break every `asyncio.run` and async test after it.)
Write page tests as `async def` and `await` Playwright's calls.

Shared per session (start-up measured on a loaded 2-core machine: Playwright's driver
~2 s, Chromium ~0.8 s, the app ~1 s): one app, one browser. Each test gets a fresh
browser context (no cookies) and page at 1280x800. Every context refuses requests to
any host but the app's own and records them in `site.external_requests`.

Fixtures:
- `site`: the served app: `site.url("/wallboard")`, `site.app`, `site.settings`,
  `await site.add_person(role, agent=..., full_name=...)`.
- `browser`: the session's Chromium; `page`: a new page in a fresh context.
- `logged_in(page, role, agent="agent01")` (async): adds a person with that role (a
  unique login; an agent gets a unique member name unless `agent` is given) and logs in
  through the real login form; returns the `Person`.
"""

from __future__ import annotations

import itertools
import os
import shutil
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import pytest
import pytest_asyncio
from fastapi import FastAPI

from core.settings import (
    ApiSettings,
    CalendarSettings,
    DatabaseSettings,
    Settings,
    WebSettings,
)
from crm.people.service import Person
from hotline.bootstrap import create_app
from hotline.demo.stack import free_port
from hotline.serve import serving
from tests.conftest import REDIS_TEST_URL, TOKENS, fresh_postgresql, redis_settings

CHROMIUM = os.environ.get("HOTLINE_TEST_CHROMIUM", "/usr/bin/chromium")
PASSWORD = "page-test-password"
PAGES_REDIS_URL = REDIS_TEST_URL.rsplit("/", 1)[0] + "/11"  # a database of its own
_numbers = itertools.count(1)
# Every page test module: `pytestmark = PAGES`.
PAGES = pytest.mark.asyncio(loop_scope="session")


@dataclass
class LiveSite:
    """The CRM app served on a loopback port."""

    settings: Settings
    app: FastAPI
    base_url: str
    external_requests: list[str] = field(default_factory=list)

    def url(self, path: str) -> str:
        return self.base_url + path

    async def add_person(self, role: str, agent: str = "", full_name: str = "") -> Person:
        n = next(_numbers)
        login = f"{role}-{os.getpid()}-{n}"
        if role == "agent" and not agent:
            agent = f"agent-{os.getpid()}-{n}"
        return await self.app.state.people.add_person(
            login, PASSWORD, role, full_name=full_name or f"Тест {login}", agent_member=agent
        )


def pages_settings(database_url: str) -> Settings:
    return Settings(
        db=DatabaseSettings(url=database_url),
        redis=redis_settings(PAGES_REDIS_URL),
        api=ApiSettings(tokens=",".join(f"{r}:{t}" for r, t in TOKENS.items())),
        calendar=CalendarSettings(hours="mon-sun 00:00-24:00", holiday_calendar="none"),
        web=WebSettings(session_secret="pages-test-session-secret-0123456789"),
    )


@pytest.fixture(scope="session")
def pages_database_url() -> Iterator[str]:
    """The pages' own database: the site lives for the session, and the other tests empty
    theirs after each test (and would count the site's calls as theirs)."""
    with fresh_postgresql() as url:
        yield url


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def site(pages_database_url: str) -> AsyncIterator[LiveSite]:
    """The CRM app on PostgreSQL and Redis, served by uvicorn on a free port."""
    settings = pages_settings(pages_database_url)
    app = create_app(settings)
    port = free_port()
    async with serving(app, "127.0.0.1", port):
        yield LiveSite(settings, app, f"http://127.0.0.1:{port}")


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def browser() -> AsyncIterator[Any]:
    """One headless Chromium for the whole run."""
    if not shutil.which(CHROMIUM):
        raise RuntimeError(
            f"{CHROMIUM} is missing: scripts/ensure-services installs Debian's chromium"
        )
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        yield chromium
        await chromium.close()


@pytest_asyncio.fixture(loop_scope="session")
async def page(browser: Any, site: LiveSite) -> AsyncIterator[Any]:
    """A page in a fresh context (no cookies), at 1280x800, refusing other hosts."""
    context = await browser.new_context(viewport={"width": 1280, "height": 800}, locale="ru-RU")
    own_host = urlsplit(site.base_url).netloc
    site.external_requests.clear()

    async def guard(route: Any) -> None:
        parts = urlsplit(route.request.url)
        if parts.scheme in ("http", "https", "ws", "wss") and parts.netloc != own_host:
            site.external_requests.append(route.request.url)
            await route.abort()
        else:
            await route.continue_()

    await context.route("**/*", guard)
    context.set_default_timeout(10_000)
    page = await context.new_page()
    yield page
    await context.close()


@pytest.fixture
def logged_in(site: LiveSite) -> Callable[..., Awaitable[Person]]:
    """`await logged_in(page, "supervisor")`, `await logged_in(page, "agent", agent="agent01")`:
    a new person of that role, logged in on `page` through the login form."""

    async def log_in(page: Any, role: str, agent: str = "", full_name: str = "") -> Person:
        person = await site.add_person(role, agent, full_name)
        await page.goto(site.url("/login"))
        await page.fill("input[name=username]", person.login)
        await page.fill("input[name=password]", PASSWORD)
        await page.click("button[type=submit]")
        await page.wait_for_url(site.url("/wallboard" if role == "supervisor" else "/desk"))
        return person

    return log_in
