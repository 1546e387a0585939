"""The AMI client against a fake Asterisk: panoramisk 1.4's faults, and `AmiManager`'s fixes."""

from __future__ import annotations

import asyncio
import time

import pytest

from core.ami.manager import AmiLoginError, AmiManager, AmiUnavailable
from tests.amifix.conftest import WAIT_S, fast_ami_settings, flag, logins, vanilla
from tests.amifix.fake_ami import FakeAmi


async def test_login_asks_only_the_event_classes_needed_then_runs_hooks(
    fake_ami: FakeAmi, manager: AmiManager
) -> None:
    statuses: list[bool] = []
    resynced = asyncio.Event()

    async def resync(m: AmiManager) -> None:
        # A hook may send actions: it runs once actions are accepted, so it cannot deadlock.
        reply = await m.send_action({"Action": "QueueStatus"}, as_list=False)
        statuses.append(reply.success)
        resynced.set()

    manager.add_login_hook(resync)
    manager.connect()
    await manager.wait_logged_in(WAIT_S)
    await asyncio.wait_for(resynced.wait(), WAIT_S)
    assert statuses == [True]
    names = [a["Action"] for _, a in fake_ami.actions]
    assert names[:3] == ["Login", "Events", "QueueStatus"]
    login, events = fake_ami.actions[0][1], fake_ami.actions[1][1]
    assert login["Events"] == "off" and login["Username"] == "hotline"
    assert events["EventMask"] == "call,agent"


async def test_empty_event_mask_means_all_events(fake_ami: FakeAmi) -> None:
    client = AmiManager(fast_ami_settings(fake_ami.port, event_mask=""))
    client.connect()
    try:
        await client.wait_logged_in(WAIT_S)
    finally:
        await client.aclose()
    assert fake_ami.actions[0][1]["Events"] == "on"
    assert fake_ami.named("Events") == []


async def test_refused_login_is_retried_and_reported(
    fake_ami: FakeAmi, manager: AmiManager, caplog: pytest.LogCaptureFixture
) -> None:
    fake_ami.login_reply = "Error"
    manager.connect()
    with pytest.raises(AmiUnavailable, match="no AMI login"):
        await manager.wait_logged_in(0.4)
    assert len(fake_ami.named("Login")) >= 2
    assert "refused: Authentication failed" in caplog.text
    assert issubclass(AmiLoginError, Exception) and not manager.is_logged_in


# -- Ping: a half-open socket ------------------------------------------------------------


async def test_vanilla_never_notices_unanswered_pings() -> None:
    server = FakeAmi(mute=lambda n, action: action == "Ping")
    await server.start()
    client = vanilla(server.port)
    client.ping_delay = client.ping_interval = 0.05
    try:
        client.connect()
        await asyncio.sleep(0.6)
        # The fault: many Pings unanswered, yet the dead session is kept.
        assert len(server.named("Ping")) >= 3
        assert server.connections == 1 and not client.protocol.closed
    finally:
        client.close()
        await server.stop()


async def test_unanswered_ping_closes_the_socket_and_reconnects() -> None:
    server = FakeAmi(mute=lambda n, action: n == 0 and action == "Ping")
    await server.start()
    client = AmiManager(fast_ami_settings(server.port))
    try:
        client.connect()
        await logins(client, 2)
        assert server.connections == 2
        assert [n for n, _ in server.named("Login")] == [0, 1]
        assert server.named("Ping")[0][0] == 0
    finally:
        await client.aclose()
        await server.stop()
    assert server.eofs >= 1  # the client closed the dead socket itself


# -- close() while reconnecting -----------------------------------------------------------


class SlamServer:
    """Accepts connections and closes them at once: a client stays in its reconnect loop."""

    def __init__(self) -> None:
        self.connections = 0
        self.changed = asyncio.Event()

    async def start(self) -> int:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return self.server.sockets[0].getsockname()[1]

    async def _serve(self, _reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self.changed.set()
        writer.close()

    async def until(self, count: int) -> None:
        async def reached() -> None:
            while self.connections < count:
                self.changed.clear()
                await self.changed.wait()

        await asyncio.wait_for(reached(), WAIT_S)

    async def stop(self) -> None:
        self.server.close()
        await self.server.wait_closed()


async def test_vanilla_close_does_not_stop_the_reconnect_loop() -> None:
    server = SlamServer()
    lost, on_disconnect = flag()
    client = vanilla(await server.start(), on_disconnect=on_disconnect)
    client.reconnect_timeout = 0.05
    client.connect()
    await asyncio.wait_for(lost.wait(), WAIT_S)
    client.close()  # the reconnect is scheduled by now
    after_close = server.connections
    await asyncio.sleep(0.3)
    try:
        assert server.connections > after_close  # the fault: it keeps reconnecting
    finally:
        client.connect = lambda *a, **k: None  # type: ignore[method-assign]
        await asyncio.sleep(0.1)
        client.close()
        await server.stop()


async def test_close_stops_the_reconnect_loop_and_every_task() -> None:
    server = SlamServer()
    client = AmiManager(fast_ami_settings(await server.start(), reconnect_max_s=0.05))
    client.connect()
    await server.until(2)
    client.close()
    after_close = server.connections
    await asyncio.sleep(0.3)
    assert server.connections == after_close
    await client.aclose()
    others = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
    assert others == []
    await server.stop()


# -- actions during an outage ---------------------------------------------------------------


async def test_vanilla_action_during_outage_waits_forever(fake_ami: FakeAmi) -> None:
    logged_in, on_login = flag()
    lost, on_disconnect = flag()
    client = vanilla(fake_ami.port, on_login=on_login, on_disconnect=on_disconnect)
    client.reconnect_timeout = 30
    client.connect()
    try:
        await asyncio.wait_for(logged_in.wait(), WAIT_S)
        await fake_ami.stop()
        await asyncio.wait_for(lost.wait(), WAIT_S)
        future = client.send_action({"Action": "Status"})
        with pytest.raises(TimeoutError):  # the fault: no answer and no error, ever
            await asyncio.wait_for(asyncio.shield(future), 0.6)
        assert not future.done()
    finally:
        client.close()


async def test_action_during_outage_fails_after_a_bounded_wait(
    fake_ami: FakeAmi, manager: AmiManager
) -> None:
    manager.connect()
    await manager.wait_logged_in(WAIT_S)
    await fake_ami.stop()
    await asyncio.sleep(0.05)
    started = time.monotonic()
    with pytest.raises(AmiUnavailable, match=r"Status: AMI not connected within 0\.5 s"):
        await manager.send_action({"Action": "Status"})
    assert 0.3 < time.monotonic() - started < 1.5


async def test_action_parked_during_outage_is_sent_after_the_next_login(
    fake_ami: FakeAmi,
) -> None:
    client = AmiManager(fast_ami_settings(fake_ami.port, action_timeout_s=3.0))
    client.connect()
    try:
        await client.wait_logged_in(WAIT_S)
        await fake_ami.stop()
        await asyncio.sleep(0.05)
        future = client.send_action({"Action": "QueueSummary"}, as_list=False)
        await asyncio.sleep(0.1)
        assert not future.done() and not client.is_logged_in
        await fake_ami.start()  # same port: Asterisk is back
        reply = await asyncio.wait_for(future, WAIT_S)
        assert reply.success
        assert [n for n, _ in fake_ami.named("QueueSummary")] == [1]
    finally:
        await client.aclose()


async def test_action_in_flight_when_the_connection_drops_fails_and_is_not_resent() -> None:
    server = FakeAmi(mute=lambda n, action: action == "Originate")
    await server.start()
    client = AmiManager(fast_ami_settings(server.port, action_timeout_s=3.0))
    client.connect()
    try:
        await client.wait_logged_in(WAIT_S)
        future = client.send_action({"Action": "Originate", "Channel": "Local/100@x"})
        await asyncio.sleep(0.1)
        for writer in server.writers:
            writer.close()
        with pytest.raises(AmiUnavailable, match="closed before the reply to Originate"):
            await asyncio.wait_for(future, WAIT_S)
        await logins(client, 2)
        assert len(server.named("Originate")) == 1
    finally:
        await client.aclose()
        await server.stop()


async def test_closed_client_refuses_actions_at_once(manager: AmiManager) -> None:
    manager.close()
    with pytest.raises(AmiUnavailable, match="closed"):
        await manager.send_action({"Action": "Ping"})


async def test_no_injection_through_the_manager(fake_ami: FakeAmi, manager: AmiManager) -> None:
    manager.connect()
    await manager.wait_logged_in(WAIT_S)
    value = "Bob\r\nAction: Hangup\r\nChannel: PJSIP/agent1-00000001\r\n\r\nAction: Logoff"
    reply = await manager.send_action({"Action": "Setvar", "Variable": "NAME", "Value": value})
    assert reply.success
    names = [a["Action"] for _, a in fake_ami.actions]
    assert names == ["Login", "Events", "Setvar"]
    assert fake_ami.actions[2][1]["Value"].startswith("Bob Action: Hangup")


async def test_close_while_asterisk_refuses_connections_leaves_no_task() -> None:
    server = FakeAmi()
    port = await server.start()
    await server.stop()  # nothing listens on the port any more
    client = AmiManager(fast_ami_settings(port))
    client.connect()
    await asyncio.sleep(0.2)  # a few refused attempts and back-offs
    assert not client.is_logged_in
    await client.aclose()
    assert [t for t in asyncio.all_tasks() if t is not asyncio.current_task()] == []


async def test_action_sent_just_as_the_socket_dies_waits_for_the_next_login(
    fake_ami: FakeAmi,
) -> None:
    client = AmiManager(fast_ami_settings(fake_ami.port, action_timeout_s=3.0))
    client.connect()
    try:
        await client.wait_logged_in(WAIT_S)
        assert client.protocol is not None
        client.protocol.close()  # the supervisor has not noticed yet
        reply = await asyncio.wait_for(client.send_action({"Action": "CoreStatus"}), WAIT_S)
        assert reply.success
        assert [n for n, _ in fake_ami.named("CoreStatus")] == [1]
    finally:
        await client.aclose()
