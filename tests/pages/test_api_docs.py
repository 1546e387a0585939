"""`/docs` and `/redoc` work on a site without internet: Chromium with every request to
another host refused renders both from the app's own files."""

from __future__ import annotations

import re
from typing import Any

from tests.pages.conftest import PAGES, LiveSite

pytestmark = PAGES
# Swagger UI's bundle is 1.8 MB of JavaScript: 7-16 s to render on the loaded 2-core machine.
SLOW_MS = 60_000


async def test_swagger_ui_renders_offline(page: Any, site: LiveSite) -> None:
    response = await page.goto(site.url("/docs"))
    assert response is not None and response.status == 200
    html = await response.text()
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", html), "no asset from a CDN"
    await page.wait_for_selector(".swagger-ui .info .title", timeout=SLOW_MS)
    assert "Hotline CRM" in await page.locator(".swagger-ui .info .title").inner_text()
    await page.wait_for_selector(".opblock")
    assert await page.locator(".opblock").count() > 20, "the API's operations are listed"
    await page.wait_for_load_state("networkidle")
    assert site.external_requests == []


async def test_redoc_renders_offline(page: Any, site: LiveSite) -> None:
    response = await page.goto(site.url("/redoc"))
    assert response is not None and response.status == 200
    html = await response.text()
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", html), "no asset from a CDN"
    heading = page.locator("h1", has_text="Hotline CRM")
    await heading.first.wait_for(timeout=SLOW_MS)
    await page.locator("[data-section-id]").nth(10).wait_for(state="attached", timeout=SLOW_MS)
    assert await page.locator("[data-section-id]").count() > 20, "the API's operations"
    await page.wait_for_load_state("networkidle")
    assert site.external_requests == []
