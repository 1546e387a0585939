"""AMI actions of the simulator: errors as Asterisk words them, variables, framing quirks."""

from __future__ import annotations

import asyncio

from asterisksim import SimConfig, SimulatedAsterisk
from asterisksim.frames import FrameError, FrameReader

from .conftest import connect


def _answer(probe, aid: str) -> tuple[str | None, str | None]:
    frame = next(f for f in probe.frames() if f.get("ActionID") == aid and f.event is None)
    return frame.get("Response"), frame.get("Message")


async def test_errors_are_worded_like_asterisk(sim: SimulatedAsterisk) -> None:
    probe = await connect(sim)
    iface = "Local/agent1@agents/n"
    await probe.send(Action="QueueAdd", ActionID="a1", Queue="hotline", Interface=iface)
    await probe.send(Action="QueueAdd", ActionID="a2", Queue="hotline", Interface=iface)
    await probe.send(Action="QueueRemove", ActionID="r1", Queue="hotline", Interface="Local/x")
    await probe.send(Action="QueuePause", ActionID="p1", Interface="Local/x", Paused="true")
    await probe.send(Action="QueueAdd", ActionID="a3", Queue="nope", Interface=iface)
    await probe.send(Action="QueueRemove", ActionID="r2", Queue="nope", Interface=iface)
    await probe.send(Action="QueuePause", ActionID="p2", Interface=iface)
    await probe.send(Action="Hangup", ActionID="h1", Channel="Local/nope-00000000;1")
    await probe.send(Action="Command", ActionID="c1", Command="sing a song")
    await probe.read_until(b"ActionID: c1")
    assert _answer(probe, "a1") == ("Success", "Added interface to queue")
    assert _answer(probe, "a2") == ("Error", "Unable to add interface: Already there")
    assert _answer(probe, "r1") == ("Error", "Unable to remove interface: Not there")
    assert _answer(probe, "p1") == ("Error", "Interface not found")
    # app_queue.c (22.10.1) words an unknown queue and a missing header so:
    assert _answer(probe, "a3") == ("Error", "Unable to add interface to queue: No such queue")
    assert _answer(probe, "r2") == ("Error", "Unable to remove interface from queue: No such queue")
    assert _answer(probe, "p2") == ("Error", "Need 'Interface' and 'Paused' parameters.")
    assert _answer(probe, "h1") == ("Error", "No such channel")
    assert _answer(probe, "c1") == ("Error", "Command output follows")


async def test_setvar_getvar_and_inheritance(sim: SimulatedAsterisk) -> None:
    probe = await connect(sim)
    call = sim.place_call("79000000001", "Alice")
    await sim.run_for(0.1)
    await probe.send(Action="Setvar", ActionID="s", Channel=call.two.name, Variable="__UIN",
                     Value="12345678")  # fmt: skip
    await probe.send(Action="Getvar", ActionID="g", Channel=call.two.name, Variable="UIN")
    await probe.read_until(b"ActionID: g")
    got = next(f for f in probe.frames() if f.get("ActionID") == "g")
    assert (got["Variable"], got["Value"]) == ("UIN", "12345678")
    sim.add_agent("agent1", answer_delay_s=1)
    await sim.run_for(3)
    leg = sim.pbx.calls[0].leg
    assert leg is not None and leg.one.get_var("UIN") == "12345678"  # `__` reaches the agent


def test_frame_reader_accepts_lf_and_split_utf8() -> None:
    reader = FrameReader()
    data = 'Action: Originate\nCallerID: "Ольга" <79000000001>\n\n'.encode()
    cut = data.index("ь".encode()) + 1  # split inside a two-byte character
    assert reader.feed(data[:cut]) == []
    frames = reader.feed(data[cut:])
    assert frames == [[("Action", "Originate"), ("CallerID", '"Ольга" <79000000001>')]]


def test_frame_reader_refuses_garbage() -> None:
    for bad in (b"no colon here\r\n", b"\xff\xfe: x\r\n", b"A" * 70_000):
        try:
            FrameReader().feed(bad)
        except FrameError:
            continue
        raise AssertionError(f"accepted {bad[:20]!r}")


async def test_cyrillic_caller_over_the_wire() -> None:
    async with SimulatedAsterisk(SimConfig()) as sim:
        probe = await connect(sim)
        frame = (
            "Action: Originate\r\nActionID: o\r\nChannel: Local/100@hotline-in\r\n"
            'Context: callers\r\nExten: wait\r\nPriority: 1\r\nCallerID: "Ольга" <79000000001>\r\n'
            "Async: true\r\n\r\n"
        ).encode()
        cut = frame.index("ь".encode()) + 1
        probe.writer.write(frame[:cut])
        await probe.writer.drain()
        await asyncio.sleep(0.01)
        probe.writer.write(frame[cut:])
        await probe.writer.drain()
        await probe.read_until(b"ActionID: o")
        await sim.run_for(1)
        await probe.read_until(b"QueueCallerJoin")
        join = probe.events("QueueCallerJoin")[0]
        assert join["CallerIDName"] == "Ольга"


async def test_docstring_example_runs() -> None:
    from asterisksim import SimConfig as Config

    async with SimulatedAsterisk(Config(timestampevents=True, channelvars=("UIN",))) as pbx:
        pbx.add_agent("agent1", "hotline", answer_delay_s=2, talk_s=30)
        pbx.place_call("79000000001", "Alice", patience_s=60)
        await pbx.run_for(120)
        assert pbx.ground_truth[0].outcome == "answered"
        assert pbx.ground_truth[0].wait_s == 2.0
