"""`GET /api/agents/{agent}/events`: the agent's server-sent events, over a real server
(an in-process ASGI transport buffers the whole body, so it cannot show a stream)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import httpx
import pytest
import uvicorn

from hotline.bootstrap import create_app
from tests.transfers.conftest import CONTEXT, Rig, agent_auth, supervisor_auth


@pytest.fixture
async def base_url(rig: Rig) -> AsyncIterator[str]:
    config = uvicorn.Config(
        create_app(rig.settings, ami=rig.ami), host="127.0.0.1", port=0, log_level="warning"
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    for _ in range(200):
        if server.started:
            break
        await asyncio.sleep(0.01)  # test only: uvicorn offers no start event
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 10)


async def _next_event(lines: AsyncIterator[str]) -> dict:
    event = ""
    async for line in lines:
        if line.startswith("event: "):
            event = line[len("event: ") :]
        elif line.startswith("data: ") and event == "screen-pop":
            return json.loads(line[len("data: ") :])
    raise AssertionError("stream ended without a screen pop")


async def test_the_target_agent_gets_a_screen_pop_with_the_context(rig: Rig, base_url: str) -> None:
    call = await rig.call(uin="00008888")
    async with (
        httpx.AsyncClient(base_url=base_url, timeout=5) as http,
        http.stream("GET", "/api/agents/agent2/events", headers=agent_auth("agent2")) as stream,
    ):
        assert stream.status_code == 200
        assert stream.headers["content-type"].startswith("text/event-stream")
        lines = stream.aiter_lines()
        assert await anext(lines) == ": connected"
        made = await rig.crm.post(
            f"/api/calls/{call.two.linkedid}/transfers",
            json={"to": "200", "mode": "blind", **CONTEXT},
            headers=agent_auth("agent1"),
        )
        assert made.status_code == 201
        await rig.settle(1)  # the BlindTransfer event: agent2's channel rings
        pop = await asyncio.wait_for(_next_event(lines), 5)
    assert pop["uin"] == "00008888" and pop["linkedid"] == call.two.linkedid
    assert (pop["summary"], pop["org_inn"], pop["n"]) == (CONTEXT["summary"], "7707083893", 1)
    # The simulator names the caller in NewCallerid, after a Newchannel's `<unknown>`.
    assert (pop["caller_num"], pop["caller_name"]) == ("79000000001", "Мария")


async def test_only_the_agent_or_a_supervisor_may_listen(rig: Rig, base_url: str) -> None:
    async with httpx.AsyncClient(base_url=base_url, timeout=5) as http:
        other = await http.get("/api/agents/agent2/events", headers=agent_auth("agent1"))
        assert other.status_code == 403
        async with http.stream(
            "GET", "/api/agents/agent2/events", headers=supervisor_auth()
        ) as stream:
            assert stream.status_code == 200
