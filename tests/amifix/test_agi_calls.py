"""FastAGI calls: hang-ups, replies, timeouts and injection; panoramisk 1.4's faults and fixes."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import pytest
from panoramisk import fast_agi

from agi import commands
from agi.errors import AgiTimeout
from agi.server import AgiRequest
from tests.amifix.agi_wire import asterisk_args
from tests.amifix.conftest import ServerFactory
from tests.amifix.fake_agi import always, basic_env, env_bytes, in_turn, run_call

# -- hang-ups, errors, timeouts --------------------------------------------------------------


class Writer:
    """Enough of a StreamWriter for panoramisk's Request."""

    def __init__(self) -> None:
        self.written = b""

    def write(self, data: bytes) -> None:
        self.written += data

    async def drain(self) -> None:
        return None


async def test_vanilla_hangup_line_shifts_every_later_reply() -> None:
    reader = asyncio.StreamReader()
    reader.feed_data(b"HANGUP\n200 result=-1 endpos=0\n511 Command Not Permitted\n")
    request = fast_agi.Request(None, {}, reader, Writer())
    first = await request.send_command('STREAM FILE welcome ""')
    second = await request.send_command("NOOP")
    assert first["error"] == "AGIResultHangup"
    assert second["error"] == "AGIAppError"  # the fault: NOOP got STREAM FILE's reply


async def test_vanilla_crashes_on_a_closed_channel() -> None:
    reader = asyncio.StreamReader()
    reader.feed_eof()
    request = fast_agi.Request(None, {}, reader, Writer())
    with pytest.raises(ValueError, match="invalid literal"):
        await request.send_command("NOOP")


async def test_vanilla_command_waits_forever() -> None:
    request = fast_agi.Request(None, {}, asyncio.StreamReader(), Writer())
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(request.send_command("NOOP"), 0.3)


DEAD = "511 Command Not Permitted on a dead channel or intercept routine"


@pytest.mark.parametrize(
    ("batches", "steps_done"),
    [
        ([["200 result=0"], ["HANGUP", "200 result=-1 endpos=0"]], 2),
        ([["200 result=0"], ["200 result=-1 endpos=0", "HANGUP"], [DEAD]], 3),
        ([["200 result=0"], [DEAD]], 2),
        ([["200 result=0"]], 2),  # then Asterisk closes the socket
    ],
    ids=["hangup-first", "hangup-after", "511", "eof"],
)
async def test_hangup_ends_the_route_cleanly(
    make_server: ServerFactory,
    caplog: pytest.LogCaptureFixture,
    batches: list[list[str]],
    steps_done: int,
) -> None:
    steps: list[str] = []

    async def hotline(request: AgiRequest) -> None:
        for step, command in [
            ("noop", commands.noop()),
            ("stream", commands.stream_file("welcome")),
            ("after", commands.noop("after")),
        ]:
            steps.append(step)
            await request.send_command(command)
        steps.append("end")

    server = await make_server()
    server.add_route("hotline", hotline)
    caplog.set_level(logging.INFO, logger="agi.server")
    await run_call(server.port, env_bytes(basic_env()), in_turn(*batches))
    assert await server.wait_idle(2)
    assert steps == ["noop", "stream", "after"][:steps_done]
    assert "ended by hang-up" in caplog.text and "raised" not in caplog.text


async def test_trying_and_multiline_usage_replies(make_server: ServerFactory) -> None:
    replies: list[Any] = []

    async def hotline(request: AgiRequest) -> None:
        replies.append(await request.send_command("EXEC Dial x"))
        replies.append(await request.send_command("SAY DIGITS"))
        replies.append(await request.send_command("BOGUS"))

    answers = iter(
        [
            ["100 result=0 Trying...", "200 result=0"],
            ["520-Invalid command syntax.  Proper usage follows:", "Usage: SAY DIGITS", "520 End"],
            ["510 Invalid or unknown command"],
        ]
    )
    server = await make_server()
    server.add_route("hotline", hotline)
    await run_call(server.port, env_bytes(basic_env()), lambda _c: next(answers))
    assert [r.code for r in replies] == [200, 520, 510]
    assert replies[0].result == "0"
    assert replies[1].data.endswith("Usage: SAY DIGITS")
    assert replies[2].data == "Invalid or unknown command"


async def test_command_timeout(make_server: ServerFactory) -> None:
    outcome: list[str] = []

    async def hotline(request: AgiRequest) -> None:
        try:
            await request.send_command(commands.get_data("beep", 5000, 3))
        except AgiTimeout as exc:
            outcome.append(str(exc))
        try:  # a late reply would now answer the wrong command: no more commands
            await request.send_command(commands.noop())
        except AgiTimeout as exc:
            outcome.append(str(exc))
            raise

    server = await make_server(command_timeout_s=0.2)
    server.add_route("hotline", hotline)
    started = time.monotonic()
    sent = await run_call(server.port, env_bytes(basic_env()), always())  # never answers
    assert len(sent) == 1 and len(outcome) == 2
    assert "within 0.2 s" in outcome[0] and "cannot go on" in outcome[1]
    assert time.monotonic() - started < 1.5


async def test_caller_text_cannot_inject_a_command_over_the_wire(
    make_server: ServerFactory,
) -> None:
    async def hotline(request: AgiRequest) -> None:
        await request.send_command(commands.set_variable("NAME", request.query["name"]))
        await request.send_command(commands.verbose(request.env["agi_calleridname"]))

    server = await make_server()
    server.add_route("hotline", hotline)
    env = basic_env("hotline?name=Bob%22%0D%0AHANGUP%0AEXEC%20Dial", agi_calleridname='x" 1\\')
    sent = await run_call(server.port, env_bytes(env), always("200 result=1"))
    assert [asterisk_args(c) for c in sent] == [
        ["SET", "VARIABLE", "NAME", 'Bob" HANGUP EXEC Dial'],
        ["VERBOSE", 'x" 1\\', "1"],
    ]


async def test_a_raw_command_with_a_line_break_is_refused(make_server: ServerFactory) -> None:
    errors: list[str] = []

    async def hotline(request: AgiRequest) -> None:
        try:
            await request.send_command("NOOP x\nHANGUP")
        except ValueError as exc:
            errors.append(str(exc))

    server = await make_server()
    server.add_route("hotline", hotline)
    assert await run_call(server.port, env_bytes(basic_env()), always("200 result=0")) == []
    assert errors and "one line" in errors[0]


async def test_failing_route_is_logged_and_other_calls_go_on(
    make_server: ServerFactory, caplog: pytest.LogCaptureFixture
) -> None:
    async def broken(_request: AgiRequest) -> None:
        raise RuntimeError("route bug")

    async def hotline(request: AgiRequest) -> None:
        await request.send_command(commands.noop())

    server = await make_server()
    server.add_route("broken", broken)
    server.add_route("hotline", hotline)
    await run_call(server.port, env_bytes(basic_env("broken")), always())
    assert await run_call(server.port, env_bytes(basic_env()), always("200 result=0")) == ["NOOP"]
    assert "route bug" in caplog.text


async def test_close_ends_calls_in_progress(make_server: ServerFactory) -> None:
    entered = asyncio.Event()
    cancelled: list[bool] = []

    async def hotline(request: AgiRequest) -> None:
        entered.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.append(True)
            raise

    server = await make_server()
    server.add_route("hotline", hotline)
    call = asyncio.ensure_future(run_call(server.port, env_bytes(basic_env()), always()))
    await asyncio.wait_for(entered.wait(), 2)
    await server.close()
    assert await asyncio.wait_for(call, 2) == []
    assert cancelled == [True]


async def test_get_variable_and_get_data_helpers(make_server: ServerFactory) -> None:
    seen: list[object] = []

    async def hotline(request: AgiRequest) -> None:
        seen.append(await request.get_variable("UIN"))
        seen.append(await request.get_variable("MISSING"))
        seen.append(await request.get_data("beep", 5000, 3))
        seen.append(await request.get_data("beep", 5000, 3))

    server = await make_server()
    server.add_route("hotline", hotline)
    sent = await run_call(
        server.port,
        env_bytes(basic_env()),
        in_turn(
            ["200 result=1 (12345)"], ["200 result=0"], ["200 result=42"], ["200 result= (timeout)"]
        ),
    )
    assert seen == ["12345", None, "42", ""]
    assert asterisk_args(sent[0]) == ["GET", "VARIABLE", "UIN"]
    assert asterisk_args(sent[2]) == ["GET", "DATA", "beep", "5000", "3"]
