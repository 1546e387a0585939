"""The FastAGI server against fake Asterisk clients: panoramisk 1.4's faults, and the fixes."""

from __future__ import annotations

import asyncio
import logging
import sys
import time
from typing import Any
from unittest import mock

import pytest
from panoramisk import fast_agi

from agi import commands
from agi.errors import AgiHangup
from agi.server import AgiRequest, is_allowed, parse_allow
from core.settings import AgiSettings
from tests.amifix.agi_wire import asterisk_args, read_wire
from tests.amifix.conftest import ServerFactory
from tests.amifix.fake_agi import always, basic_env, env_bytes, run_call


async def test_recorded_call_replays_through_the_server(make_server: ServerFactory) -> None:
    env, exchange = read_wire()
    seen: dict[str, Any] = {}

    async def hotline(request: AgiRequest) -> None:
        seen["script"], seen["args"] = request.script, request.args
        seen["name"] = request.env["agi_calleridname"]
        uin = "12345"
        seen["replies"] = [
            await request.send_command(commands.set_variable("UIN", uin)),
            await request.send_command(commands.say_digits(uin)),
            await request.send_command(commands.stream_file("hello-world")),
            await request.send_command(commands.get_data("beep", 5000, 3)),
            await request.send_command(commands.get_variable("UIN")),
            await request.send_command(commands.verbose(f"ticket {uin} read out", 1)),
            await request.send_command(commands.noop("done")),
        ]

    server = await make_server()
    server.add_route("hotline", hotline)
    replies = iter([answer for _, answer in exchange])
    sent = await run_call(server.port, env_bytes(env), lambda _c: next(replies))
    assert [asterisk_args(c) for c in sent] == [asterisk_args(c) for c, _ in exchange]
    assert seen["script"] == "hotline" and seen["args"] == ["100"] and seen["name"] == "Hank"
    assert [tuple(r) for r in seen["replies"]] == [
        (200, "1", ""),
        (200, "0", ""),
        (200, "0", "endpos=8000"),
        (200, "42", ""),
        (200, "1", "12345"),
        (200, "1", ""),
        (200, "0", ""),
    ]


# -- routing ------------------------------------------------------------------------------


async def test_vanilla_does_not_route_a_script_with_a_query() -> None:
    called: list[str] = []

    async def hotline(request: Any) -> None:
        called.append(request.headers["agi_network_script"])

    app = fast_agi.Application(loop=asyncio.get_running_loop())
    app.add_route("hotline", hotline)
    server = await asyncio.start_server(app.handler, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    await run_call(port, env_bytes(basic_env("hotline?lang=en")), always("200 result=0"))
    server.close()
    assert called == []  # the fault: "No route for the request"


async def test_routes_by_script_with_query_and_numbered_args(make_server: ServerFactory) -> None:
    seen: list[tuple[str, dict[str, str], list[str]]] = []

    async def hotline(request: AgiRequest) -> None:
        seen.append((request.script, request.query, request.args))

    server = await make_server()
    server.add_route("hotline", hotline)
    env = basic_env("hotline?lang=en&vip=1", agi_arg_2="b", agi_arg_1="a", agi_arg_10="j")
    await run_call(server.port, env_bytes(env), always("200 result=0"))
    assert seen == [("hotline", {"lang": "en", "vip": "1"}, ["a", "b", "j"])]


def test_vanilla_add_route_refuses_plain_functions_on_311() -> None:
    app = fast_agi.Application(loop=mock.Mock())
    with pytest.raises(AttributeError, match="coroutine"):
        app.add_route("hotline", lambda request: None)


async def test_plain_routes_work_and_registration_is_checked(make_server: ServerFactory) -> None:
    calls: list[str] = []
    server = await make_server()
    server.add_route("/survey", lambda request: calls.append(request.script))
    await run_call(server.port, env_bytes(basic_env("survey")), always())
    assert calls == ["survey"]
    with pytest.raises(ValueError, match="already exists"):
        server.add_route("survey", lambda request: None)
    with pytest.raises(TypeError, match="not callable"):
        server.add_route("x", "handler")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="bare script name"):
        server.add_route("x?y=1", lambda request: None)


async def test_unknown_script_is_closed(make_server: ServerFactory) -> None:
    server = await make_server()
    sent = await run_call(server.port, env_bytes(basic_env("nothing")), always("200 result=0"))
    assert sent == []


# -- misbehaving clients ---------------------------------------------------------------------

VANILLA_SERVER = """
import asyncio, sys
from panoramisk import fast_agi

async def hotline(request):
    await request.send_command("NOOP served")

async def main():
    app = fast_agi.Application(loop=asyncio.get_running_loop())
    app.add_route("hotline", hotline)
    server = await asyncio.start_server(app.handler, "127.0.0.1", 0)
    print(server.sockets[0].getsockname()[1], flush=True)
    await asyncio.sleep(30)

asyncio.run(main())
"""


async def test_vanilla_freezes_when_a_client_closes_before_the_blank_line() -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-c", VANILLA_SERVER, stdout=asyncio.subprocess.PIPE
    )
    try:
        assert process.stdout is not None
        port = int(await asyncio.wait_for(process.stdout.readline(), 10))
        served = await run_call(port, env_bytes(basic_env()), always("200 result=0"), 3)
        assert served == ["NOOP served"]  # the vanilla server works for a good client
        _, bad = await asyncio.open_connection("127.0.0.1", port)
        bad.write(b"agi_network: yes\nagi_network_script: hot")
        await bad.drain()
        bad.close()
        await asyncio.sleep(0.2)
        with pytest.raises(TimeoutError):  # the fault: its event loop spins, nobody is served
            await run_call(port, env_bytes(basic_env()), always("200 result=0"), 1.0)
    finally:
        process.kill()
        await process.wait()


async def test_misbehaving_clients_are_dropped_without_touching_other_calls(
    make_server: ServerFactory, caplog: pytest.LogCaptureFixture
) -> None:
    served: list[str] = []

    async def hotline(request: AgiRequest) -> None:
        served.append(request.env["agi_channel"])
        await request.send_command(commands.noop("served"))

    server = await make_server()
    server.add_route("hotline", hotline)
    caplog.set_level(logging.WARNING, logger="agi.server")
    # 1: closes before the blank line
    _, early = await asyncio.open_connection("127.0.0.1", server.port)
    early.write(b"agi_network: yes\nagi_network_script: hot")
    early.close()
    # 2: garbage
    garbage_reader, garbage = await asyncio.open_connection("127.0.0.1", server.port)
    garbage.write(b"\x16\x03\x01\x02\x00GET / HTTP/1.1\r\n\r\n")
    # 3: stalls half-way, socket left open
    stall_reader, stall = await asyncio.open_connection("127.0.0.1", server.port)
    stall.write(b"agi_network: yes\n")
    await asyncio.sleep(0.05)
    started = time.monotonic()
    sent = await run_call(server.port, env_bytes(basic_env()), always("200 result=0"))
    assert sent == ['NOOP "served"'] and served == ["PJSIP/trunk-00000001"]
    assert time.monotonic() - started < 0.3  # served while the stalled client still waits
    assert await asyncio.wait_for(garbage_reader.read(), 1) == b""
    assert await asyncio.wait_for(stall_reader.read(), 2) == b""  # dropped after 0.4 s
    assert time.monotonic() - started >= 0.2
    garbage.close()
    stall.close()
    assert "closed before the end of the AGI environment" in caplog.text
    assert "not an AGI environment line" in caplog.text
    assert "no whole environment within 0.4 s" in caplog.text


# -- encodings -----------------------------------------------------------------------------------


async def test_vanilla_drops_a_call_with_a_cp1251_caller_name() -> None:
    called: list[str] = []

    async def hotline(request: Any) -> None:
        called.append(request.headers["agi_calleridname"])

    app = fast_agi.Application(loop=asyncio.get_running_loop())
    app.add_route("hotline", hotline)
    loop = asyncio.get_running_loop()
    errors: list[dict[str, Any]] = []
    loop.set_exception_handler(lambda _loop, context: errors.append(context))
    server = await asyncio.start_server(app.handler, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    env = env_bytes(basic_env(agi_calleridname="Алиса Петрова"), encoding="cp1251")
    assert await run_call(port, env, always("200 result=0")) == []  # the call is dropped
    server.close()
    loop.set_exception_handler(None)
    assert called == []
    assert any(isinstance(e.get("exception"), UnicodeDecodeError) for e in errors)


@pytest.mark.parametrize("encoding", ["utf-8", "cp1251"])
async def test_utf8_and_cp1251_caller_names_decode(
    make_server: ServerFactory, encoding: str
) -> None:
    names: list[str] = []
    server = await make_server()
    server.add_route("hotline", lambda request: names.append(request.env["agi_calleridname"]))
    env = env_bytes(basic_env(agi_calleridname="Алиса Петрова"), encoding=encoding)
    await run_call(server.port, env, always())
    assert names == ["Алиса Петрова"]


# -- allow-list ------------------------------------------------------------------------------------


async def test_client_outside_the_allow_list_is_refused(
    make_server: ServerFactory, caplog: pytest.LogCaptureFixture
) -> None:
    called: list[str] = []
    server = await make_server(allow="10.0.0.0/8, 192.168.1.5")
    server.add_route("hotline", lambda request: called.append("x"))
    sent = await run_call(server.port, env_bytes(basic_env()), always("200 result=0"))
    assert sent == [] and called == []
    assert "refused: not in HOTLINE_AGI_ALLOW" in caplog.text


def test_allow_list_parsing() -> None:
    networks = parse_allow("127.0.0.1, 10.1.0.0/16,::1,")
    assert is_allowed("127.0.0.1", networks)
    assert is_allowed("10.1.200.3", networks)
    assert is_allowed("::ffff:127.0.0.1", networks)  # IPv4 on a dual-stack socket
    assert is_allowed("::1", networks)
    assert not is_allowed("10.2.0.1", networks)
    assert not is_allowed("not-an-ip", networks)
    assert AgiSettings().allow == "127.0.0.1,::1"
    with pytest.raises(ValueError, match="HOTLINE_AGI_ALLOW: 'localhost'"):
        parse_allow("127.0.0.1,localhost")


async def test_hangup_error_type_is_an_agi_error() -> None:
    assert issubclass(AgiHangup, Exception)
