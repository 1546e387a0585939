"""The desk's queue login and pause on the real Asterisk: the CRM's QueueAdd, QueuePause
with a reason and QueueRemove, and app_queue's refusals, as the API answers them."""

from __future__ import annotations

import httpx

from tests.asterisk.conftest import AGENT_TOKENS, Services
from tests.asterisk.harness import Line

AGENT = "agent03"
INTERFACE = f"Local/{AGENT}@harness-agents/n"


async def test_desk_logs_in_pauses_and_logs_out(line: Line, services: Services) -> None:
    headers = {"Authorization": f"Bearer {AGENT_TOKENS[AGENT]}"}
    async with httpx.AsyncClient(base_url=services.crm_url, headers=headers, timeout=10) as crm:
        since = len(line.ami.frames)
        try:
            joined = await crm.post(f"/api/agents/{AGENT}/queue", json={"joined": True})
            assert joined.status_code == 200, joined.text
            assert joined.json()["members"][0]["interface"] == INTERFACE
            added = await line.ami.wait_for(
                lambda f: f.event == "QueueMemberAdded" and f.get("MemberName") == AGENT,
                timeout_s=5,
                since=since,
            )
            assert added.get("Interface") == INTERFACE

            paused = await crm.post(
                f"/api/agents/{AGENT}/pause", json={"paused": True, "reason": "lunch"}
            )
            assert paused.status_code == 200, paused.text
            assert (paused.json()["paused"], paused.json()["reason"]) == (True, "lunch")
            pause = await line.ami.wait_for(
                lambda f: f.event == "QueueMemberPause" and f.get("MemberName") == AGENT,
                timeout_s=5,
                since=since,
            )
            assert (pause.get("Paused"), pause.get("PausedReason")) == ("1", "lunch")

            unknown = await crm.post(
                f"/api/agents/{AGENT}/queue", json={"joined": True, "queues": ["nosuch"]}
            )
            assert unknown.status_code == 404, unknown.text
            again = await crm.post(f"/api/agents/{AGENT}/queue", json={"joined": True})
            assert again.status_code == 409

            left = await crm.post(f"/api/agents/{AGENT}/queue", json={"joined": False})
            assert left.status_code == 200 and left.json()["logged_in"] is False
            await line.ami.wait_for(
                lambda f: f.event == "QueueMemberRemoved" and f.get("MemberName") == AGENT,
                timeout_s=5,
                since=since,
            )
            gone = await crm.post(
                f"/api/agents/{AGENT}/pause", json={"paused": True, "reason": "lunch"}
            )
            assert gone.status_code == 409
        finally:
            await line.ami.action("QueueRemove", Queue="hotline", Interface=INTERFACE)
