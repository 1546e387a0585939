"""The live pages' basis: a logged-in person's browser opens the server-sent event streams
with its session cookie alone (EventSource sends no headers of its own), within its role."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from crm.people.service import Person
from tests.pages.conftest import PAGES, LiveSite

pytestmark = PAGES
LoggedIn = Callable[..., Awaitable[Person]]
OPEN = """url => new Promise(resolve => {
  const stream = new EventSource(url);
  const done = result => { stream.close(); resolve(result); };
  stream.onopen = () => done("open");
  stream.onerror = () => done("refused");
  setTimeout(() => done("timeout"), 15000);
})"""


async def test_a_supervisor_opens_the_live_stream(
    page: Any, site: LiveSite, logged_in: LoggedIn
) -> None:
    await logged_in(page, "supervisor")
    assert await page.evaluate(OPEN, "/api/stream/live") == "open"


async def test_an_agent_opens_its_own_events_only(
    page: Any, site: LiveSite, logged_in: LoggedIn
) -> None:
    person = await logged_in(page, "agent")
    assert await page.evaluate(OPEN, f"/api/agents/{person.agent_member}/events") == "open"
    assert await page.evaluate(OPEN, "/api/agents/agent01/events") == "refused"
    assert await page.evaluate(OPEN, "/api/stream/live") == "refused"
