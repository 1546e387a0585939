"""The tracker's AMI protocol: our parser in `data_received`, panoramisk for replies."""

from __future__ import annotations

import pytest
from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError

from callqueue.agents import AgentState
from callqueue.live import LiveState
from callqueue.wire import TrackerProtocol
from tests.amifix.test_ami_protocol import Collector, FakeTransport
from tests.conftest import TEST_KEYS

WIRE = (
    "Asterisk Call Manager/11.0.0\r\n"
    "Response: Success\r\nActionID: a-1\r\nMessage: Authentication accepted\r\n\r\n"
    "Event: Newchannel\r\nChannel: PJSIP/trunk-00000001\r\nUniqueid: 1.1\r\n"
    "Linkedid: 1.1\r\nCallerIDName: Алиса Петрова\r\n\r\n"
    "Event: VarSet\r\nChannel: PJSIP/trunk-00000001\r\nVariable: X\r\n\r\n"
    "Event: QueueEntry\nActionID: a-2\nQueue: hotline\nChannel: Local/100@x-1;2\n\n"
).encode()


@pytest.mark.parametrize("chunk", [1, 7, len(WIRE)])
async def test_events_reach_the_tracker_whole_and_replies_panoramisk(chunk) -> None:
    reads: list[list] = []
    manager = Collector()
    protocol = TrackerProtocol(manager, reads.append, wanted={"Newchannel"})  # type: ignore[arg-type]
    protocol.connection_made(FakeTransport())
    login = protocol.send({"Action": "Login", "ActionID": "a-1"})
    for start in range(0, len(WIRE), chunk):
        protocol.data_received(WIRE[start : start + chunk])
    events = [message for read in reads for message in read]
    assert protocol.version == "11.0.0"
    # VarSet is not wanted and never parsed; QueueEntry answers an action: it passes.
    assert [m.name for m in events] == ["Newchannel", "QueueEntry"]
    assert events[0].get("CallerIDName") == "Алиса Петрова"
    assert login.done() and login.result().success
    # only the action's own event went the slow way, to panoramisk's dispatch
    assert [e.event for e in manager.events] == ["QueueEntry"]


async def test_live_changes_survive_a_redis_outage() -> None:
    dead = Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.5, retry=Retry(NoBackoff(), 0))
    live = LiveState(dead, TEST_KEYS, ttl_s=30)
    live.agent_changed(AgentState(name="agent1"))
    with pytest.raises((RedisConnectionError, OSError)):
        await live.flush(1.0)
    assert live.dirty, "kept for the next flush"
    await dead.aclose()
