"""In-process calls of the CRM app: a caller's timeout must not cut a request in half."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from hotline.asgi import DetachedASGITransport


def slow_app(log: list[str]):  # type: ignore[no-untyped-def]
    async def app(scope, receive, send):  # type: ignore[no-untyped-def]
        if scope["type"] != "http":
            return
        log.append("begin")
        try:
            await asyncio.sleep(0.2)  # a transaction in progress
        except asyncio.CancelledError:
            log.append("cancelled mid-transaction")
            raise
        log.append("committed")
        await send({"type": "http.response.start", "status": 201, "headers": []})
        await send({"type": "http.response.body", "body": b"{}"})

    return app


async def _give_up_early(transport: httpx.AsyncBaseTransport) -> None:
    async with httpx.AsyncClient(transport=transport, base_url="http://crm") as client:
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.05):
                await client.post("/api/tickets")


async def test_plain_asgi_transport_cuts_the_request_in_half() -> None:
    """The fault: httpx's ASGITransport runs the app in the caller's task."""
    log: list[str] = []
    await _give_up_early(httpx.ASGITransport(app=slow_app(log)))
    await asyncio.sleep(0.3)
    assert log == ["begin", "cancelled mid-transaction"]


async def test_detached_transport_lets_the_request_finish() -> None:
    log: list[str] = []
    await _give_up_early(DetachedASGITransport(app=slow_app(log)))
    # The client is closed; closing waited for the abandoned request to end.
    assert log == ["begin", "committed"]


async def test_detached_transport_answers_like_the_plain_one() -> None:
    log: list[str] = []
    async with httpx.AsyncClient(
        transport=DetachedASGITransport(app=slow_app(log)), base_url="http://crm"
    ) as client:
        response = await client.post("/api/tickets")
    assert response.status_code == 201
    assert log == ["begin", "committed"]
