"""Fixtures of the AMI and FastAGI hardening tests."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from panoramisk import Manager

from agi.server import AgiServer
from core.ami.manager import AmiManager
from core.settings import AgiSettings, AmiSettings
from tests.amifix.fake_ami import FakeAmi

WAIT_S = 3.0


@pytest.fixture
async def manager(fake_ami: FakeAmi) -> AsyncIterator[AmiManager]:
    client = AmiManager(fast_ami_settings(fake_ami.port))
    yield client
    await client.aclose()


def vanilla(port: int, **config: Any) -> Manager:
    return Manager(host="127.0.0.1", port=port, username="hotline", secret="s3cret-pass", **config)


def flag() -> tuple[asyncio.Event, Callable[..., None]]:
    event = asyncio.Event()
    return event, lambda *_: event.set()


async def logins(client: AmiManager, count: int) -> None:
    """Wait until the client has logged in `count` times."""
    reached = asyncio.Event()

    def check(m: AmiManager) -> None:
        if m.logins >= count:
            reached.set()

    client.add_login_hook(check)
    check(client)
    await asyncio.wait_for(reached.wait(), WAIT_S)


@pytest.fixture
async def fake_ami() -> AsyncIterator[FakeAmi]:
    server = FakeAmi()
    await server.start()
    yield server
    await server.stop()


def fast_ami_settings(port: int, **overrides: object) -> AmiSettings:
    """Settings with short timings so that outages show within a test's time."""
    values: dict[str, object] = {
        "host": "127.0.0.1",
        "port": port,
        "user": "hotline",
        "secret": "s3cret-pass",
        "ping_interval_s": 0.1,
        "ping_timeout_s": 0.2,
        "action_timeout_s": 0.5,
        "connect_timeout_s": 0.5,
        "reconnect_min_s": 0.05,
        "reconnect_max_s": 0.2,
    }
    values.update(overrides)
    return AmiSettings(**values)


ServerFactory = Callable[..., Awaitable[AgiServer]]


@pytest.fixture
async def make_server() -> AsyncIterator[ServerFactory]:
    servers: list[AgiServer] = []

    async def make(**overrides: Any) -> AgiServer:
        values: dict[str, Any] = {
            "host": "127.0.0.1",
            "port": 0,
            "allow": "127.0.0.1,::1",
            "header_timeout_s": 0.4,
            "command_timeout_s": 0.5,
        }
        values.update(overrides)
        server = AgiServer(AgiSettings(**values))
        await server.start()
        servers.append(server)
        return server

    yield make
    for server in servers:
        await server.close()
