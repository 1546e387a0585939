"""The agent's queue membership and pause over the API: QueueAdd/QueueRemove/QueuePause
sent to the simulated Asterisk, which answers and tells the tracker as the real one does."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from core.ami.protocol import AmiUnavailable
from core.settings import AsteriskSettings, Settings
from crm.agents.errors import AsteriskFailed
from crm.agents.service import AgentQueues
from tests.conftest import TEST_KEYS, auth

from .conftest import Rig, agent_auth, supervisor_auth

IFACE = "Local/{agent}@agents/n"


@pytest.fixture
def transfer_settings(transfer_settings: Settings) -> Settings:
    """The simulator's members are `Local/agentN@agents/n` (the test instance's too)."""
    return transfer_settings.model_copy(update={"asterisk": AsteriskSettings(agent_channel=IFACE)})


async def _live(rig: Rig, agent: str, **wanted: str) -> dict[str, str]:
    """The tracker's live hash of `agent` once it holds `wanted` (its writer batches)."""
    await rig.settle()
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 3
    while True:
        raw = await rig.redis.hgetall(TEST_KEYS.live_agent(agent))
        live = {k.decode(): v.decode() for k, v in raw.items()}
        if all(live.get(k) == v for k, v in wanted.items()) or loop.time() > deadline:
            return live
        await asyncio.sleep(0.02)


async def test_log_in_pause_with_reason_and_out(rig: Rig) -> None:
    hotline = rig.pbx.pbx.queues["hotline"]
    assert "Local/agent2@agents/n" not in hotline.members

    joined = await rig.crm.post(
        "/api/agents/agent2/queue", json={"joined": True}, headers=agent_auth("agent2")
    )
    assert joined.status_code == 200, joined.text
    body = joined.json()
    assert body["logged_in"] and not body["paused"]
    assert [m["queue"] for m in body["members"]] == ["hotline"]
    member = hotline.members["Local/agent2@agents/n"]
    assert member.name == "agent2"  # the tracker keys agents on the member name
    assert (await _live(rig, "agent2", queues="hotline"))["queues"] == "hotline"

    again = await rig.crm.post(
        "/api/agents/agent2/queue", json={"joined": True}, headers=agent_auth("agent2")
    )
    assert again.status_code == 409
    assert "already logged in to queue hotline" in again.json()["detail"]

    paused = await rig.crm.post(
        "/api/agents/agent2/pause",
        json={"paused": True, "reason": "lunch"},
        headers=agent_auth("agent2"),
    )
    assert paused.status_code == 200, paused.text
    assert paused.json()["paused"] and paused.json()["reason"] == "lunch"
    assert paused.json()["members"][0]["paused_since"] is not None
    assert member.paused and member.paused_reason == "lunch"
    live = await _live(rig, "agent2", paused="1")
    assert (live["paused"], live["paused_reason"]) == ("1", "lunch")  # QueueMemberPause

    back = await rig.crm.post(
        "/api/agents/agent2/pause", json={"paused": False}, headers=agent_auth("agent2")
    )
    assert back.status_code == 200 and not back.json()["paused"]
    assert not member.paused

    left = await rig.crm.post(
        "/api/agents/agent2/queue", json={"joined": False}, headers=agent_auth("agent2")
    )
    assert left.status_code == 200 and not left.json()["logged_in"]
    assert "Local/agent2@agents/n" not in hotline.members
    state = await rig.crm.get("/api/agents/agent2/queue", headers=agent_auth("agent2"))
    assert state.json()["members"] == []


async def test_bad_input_is_refused_before_asterisk(rig: Rig) -> None:
    member = rig.pbx.pbx.queues["hotline"].members["Local/agent1@agents/n"]
    for body in (
        {"paused": True},  # no reason
        {"paused": True, "reason": "lunch\r\nAction: Hangup"},
        {"paused": True, "reason": "x" * 81},
    ):
        answer = await rig.crm.post(
            "/api/agents/agent1/pause", json=body, headers=agent_auth("agent1")
        )
        assert answer.status_code == 422, body
    assert not member.paused
    bad_queue = await rig.crm.post(
        "/api/agents/agent1/queue",
        json={"joined": True, "queues": ["support\r\nAction: Hangup"]},
        headers=agent_auth("agent1"),
    )
    assert bad_queue.status_code == 422


async def test_an_agent_acts_only_for_itself(rig: Rig) -> None:
    for method, path, body in (
        ("GET", "/api/agents/agent1/queue", None),
        ("POST", "/api/agents/agent1/queue", {"joined": False}),
        ("POST", "/api/agents/agent1/pause", {"paused": True, "reason": "break"}),
    ):
        answer = await rig.crm.request(method, path, json=body, headers=agent_auth("agent2"))
        assert answer.status_code == 403, path
    assert "Local/agent1@agents/n" in rig.pbx.pbx.queues["hotline"].members
    # A supervisor pauses anyone; a service token nobody.
    answer = await rig.crm.post(
        "/api/agents/agent1/pause",
        json={"paused": True, "reason": "meeting"},
        headers=supervisor_auth(),
    )
    assert answer.status_code == 200 and answer.json()["reason"] == "meeting"
    service = await rig.crm.get("/api/agents/agent1/queue", headers=auth("service"))
    assert service.status_code == 403


async def test_asterisk_refusals_are_clear(rig: Rig) -> None:
    unknown = await rig.crm.post(
        "/api/agents/agent2/queue",
        json={"joined": True, "queues": ["nosuch"]},
        headers=agent_auth("agent2"),
    )
    assert unknown.status_code == 404
    assert unknown.json()["detail"] == "Asterisk has no queue 'nosuch'"
    for path, body in (
        ("/api/agents/agent2/queue", {"joined": False}),
        ("/api/agents/agent2/pause", {"paused": True, "reason": "break"}),
    ):
        answer = await rig.crm.post(path, json=body, headers=agent_auth("agent2"))
        assert answer.status_code == 409
        assert answer.json()["detail"] == "agent2 is not logged in to any queue: log in first"


async def test_no_ami_client_is_a_502(client: httpx.AsyncClient) -> None:
    """A CRM without HOTLINE_AMI_SECRET cannot reach Asterisk: 502, and why."""
    answer = await client.get("/api/agents/agent1/queue", headers=auth("supervisor"))
    assert answer.status_code == 502
    assert "no AMI client" in answer.json()["detail"]


async def test_asterisk_silent_is_asterisk_failed() -> None:
    async def silent(*_args: object, **_kwargs: object) -> object:
        raise AmiUnavailable("QueueStatus: no reply from Asterisk within 5.0 s")

    queues = AgentQueues(silent, AsteriskSettings(agent_channel=IFACE))
    with pytest.raises(AsteriskFailed, match="Asterisk did not answer: QueueStatus: no reply"):
        await queues.pause("agent1", True, "lunch")


async def test_the_last_screen_pop_is_kept_for_a_desk_opened_after_it(rig: Rig) -> None:
    state = await rig.crm.get("/api/agents/agent1/queue", headers=agent_auth("agent1"))
    assert state.json()["last_pop"] is None
    call = await rig.call()
    state = await rig.crm.get("/api/agents/agent1/queue", headers=agent_auth("agent1"))
    pop = state.json()["last_pop"]
    assert pop is not None
    assert (pop["linkedid"], pop["caller_num"]) == (call.two.linkedid, "79000000001")
