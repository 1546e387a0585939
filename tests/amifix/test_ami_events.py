"""AMI event handlers: panoramisk 1.4's dispatch faults on Python 3.11, and `AmiManager`'s fix."""

from __future__ import annotations

import asyncio
import gc
import logging
import weakref
from typing import Any

import pytest

from core.ami.manager import AmiManager
from tests.amifix.conftest import WAIT_S, flag, vanilla
from tests.amifix.fake_ami import FakeAmi

TWO_EVENTS = (
    b"Event: Boom\r\nPrivilege: call,all\r\n\r\nEvent: After\r\nPrivilege: call,all\r\n\r\n"
)


def boom(_manager: Any, _event: Any) -> None:
    raise RuntimeError("handler bug")


async def test_vanilla_failing_handler_kills_the_connection(fake_ami: FakeAmi) -> None:
    logged_in, on_login = flag()
    lost, on_disconnect = flag()
    client = vanilla(fake_ami.port, on_login=on_login, on_disconnect=on_disconnect)
    client.reconnect_timeout = 30
    seen: list[str] = []
    client.register_event("Boom", boom)
    client.register_event("After", lambda m, e: seen.append(e.event))
    client.connect()
    try:
        await asyncio.wait_for(logged_in.wait(), WAIT_S)
        await fake_ami.push(TWO_EVENTS)
        await asyncio.wait_for(lost.wait(), WAIT_S)  # the fault: connection dropped
        assert seen == []  # and the next event lost
    finally:
        client.close()


async def test_failing_handler_is_logged_and_harms_nothing(
    fake_ami: FakeAmi, manager: AmiManager, caplog: pytest.LogCaptureFixture
) -> None:
    seen: list[str] = []
    got_after = asyncio.Event()

    async def after(_m: Any, event: Any) -> None:
        seen.append(event.event)
        got_after.set()

    async def async_boom(_m: Any, _e: Any) -> None:
        raise ValueError("async handler bug")

    manager.register_event("Boom", boom)
    manager.register_event("Boom", async_boom)
    manager.register_event("After", after)
    manager.connect()
    await manager.wait_logged_in(WAIT_S)
    with caplog.at_level(logging.ERROR, logger="core.ami.manager"):
        await fake_ami.push(TWO_EVENTS)
        await asyncio.wait_for(got_after.wait(), WAIT_S)
        await asyncio.sleep(0.05)
    assert seen == ["After"]
    assert manager.is_logged_in and fake_ami.eofs == 0
    assert "handler bug" in caplog.text and "async handler bug" in caplog.text


async def test_vanilla_drops_async_handler_tasks_mid_flight(fake_ami: FakeAmi) -> None:
    logged_in, on_login = flag()
    client = vanilla(fake_ami.port, on_login=on_login)
    started = asyncio.Event()
    refs: list[weakref.ref[asyncio.Task[Any]]] = []

    async def slow(_m: Any, _e: Any) -> None:
        refs.append(weakref.ref(asyncio.current_task()))  # type: ignore[arg-type]
        started.set()
        await asyncio.Event().wait()  # waits on something only this task holds

    client.register_event("Slow", slow)
    client.connect()
    try:
        await asyncio.wait_for(logged_in.wait(), WAIT_S)
        await fake_ami.push(b"Event: Slow\r\n\r\n")
        await asyncio.wait_for(started.wait(), WAIT_S)
        gc.collect()
        assert refs[0]() is None  # the fault: the pending handler task was garbage-collected
    finally:
        client.close()


async def test_async_handler_tasks_are_kept_and_cancelled_on_close(
    fake_ami: FakeAmi, manager: AmiManager
) -> None:
    started = asyncio.Event()
    refs: list[weakref.ref[asyncio.Task[Any]]] = []

    async def slow(_m: Any, _e: Any) -> None:
        refs.append(weakref.ref(asyncio.current_task()))  # type: ignore[arg-type]
        started.set()
        await asyncio.Event().wait()

    manager.register_event("Slow", slow)
    manager.connect()
    await manager.wait_logged_in(WAIT_S)
    await fake_ami.push(b"Event: Slow\r\n\r\n")
    await asyncio.wait_for(started.wait(), WAIT_S)
    gc.collect()
    task = refs[0]()
    assert task is not None and not task.done()
    await manager.aclose()
    assert task.cancelled()


async def test_registering_a_non_callable_fails_at_once(manager: AmiManager) -> None:
    with pytest.raises(TypeError, match="not callable"):
        manager.register_event("Hangup", "on_hangup")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="not callable"):
        manager.add_login_hook(None)  # type: ignore[arg-type]
    decorated = manager.register_event("Hangup")(boom)
    assert decorated is boom and boom in manager.callbacks["Hangup"]
