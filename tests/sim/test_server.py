"""The AMI server: login, framing, errors, bad clients, event filtering and options."""

from __future__ import annotations

import asyncio

from asterisksim import SimConfig, SimulatedAsterisk

from .conftest import connect


async def test_banner_login_and_actionid_echo(sim: SimulatedAsterisk) -> None:
    probe = await connect(sim, login=False)
    await probe.read_until(b"\r\n")
    assert bytes(probe.data).startswith(b"Asterisk Call Manager/11.0.0\r\n")
    await probe.send(Action="Login", ActionID="x-1", Username="hotline", Secret="hotline")
    await probe.send(Action="Ping", ActionID="x-2")
    await probe.read_until(b"Ping: Pong")
    frames = probe.frames()
    assert frames[0].headers == [
        ("Response", "Success"),
        ("ActionID", "x-1"),
        ("Message", "Authentication accepted"),
    ]
    assert [f.get("ActionID") for f in frames if f.get("Response")] == ["x-1", "x-2"]


async def test_wrong_secret_is_refused_and_closed(sim: SimulatedAsterisk) -> None:
    probe = await connect(sim, login=False)
    await probe.send(Action="Login", ActionID="a", Username="hotline", Secret="nope")
    await probe.read_eof()
    frame = probe.frames()[0]
    assert (frame["Response"], frame["Message"]) == ("Error", "Authentication failed")


async def test_actions_before_login_and_unknown_actions(sim: SimulatedAsterisk) -> None:
    probe = await connect(sim, login=False)
    await probe.send(Action="QueueStatus", ActionID="early")
    await probe.read_until(b"Authentication Required")
    await probe.send(Action="Login", ActionID="l", Username="hotline", Secret="hotline")
    await probe.send(Action="FlyToTheMoon", ActionID="moon")
    await probe.read_until(b"Invalid/unknown command")
    moon = next(f for f in probe.frames() if f.get("ActionID") == "moon")
    assert (moon["Response"], moon["Message"]) == ("Error", "Invalid/unknown command")


async def test_bad_clients_are_dropped_and_others_keep_being_served(sim: SimulatedAsterisk) -> None:
    good = await connect(sim)
    garbage = await connect(sim, login=False)
    garbage.writer.write(b"\x00\xff\xfe not a header at all\r\n\r\n")
    await garbage.read_eof()
    assert b"Response: Error" in garbage.data
    half = await connect(sim, login=False)
    half.writer.write(b"Action: Login\r\nUsername: hot")
    half.writer.close()
    huge = await connect(sim, login=False)
    huge.writer.write(b"Action: " + b"A" * (1 << 20))
    try:
        await huge.writer.drain()
    except ConnectionError:
        pass
    clean = await huge.read_eof()  # reading to the end proves the server dropped it
    # The server answers, then closes with our unread megabyte pending: the kernel may turn
    # that close into a reset before the answer arrives.
    assert b"header line too long" in huge.data or not clean
    await asyncio.sleep(0.05)
    assert len(sim.server.sessions) == 1  # only the good client is left
    await good.send(Action="Ping", ActionID="still-there")
    await good.read_until(b"ActionID: still-there")
    sim.add_agent("agent1")
    await good.read_until(b"QueueMemberAdded")


async def test_event_mask_filters_by_class(sim: SimulatedAsterisk) -> None:
    agent_only = await connect(sim)
    await agent_only.send(Action="Events", ActionID="m", EventMask="agent")
    await agent_only.read_until(b"Events: On")
    everything = await connect(sim)
    sim.add_agent("agent1", answer_delay_s=1)
    sim.place_call("79000000001", "Alice")
    await sim.run_for(3)
    await everything.read_until(b"AgentConnect")
    await agent_only.read_until(b"AgentConnect")
    assert everything.events("Newchannel") and not agent_only.events("Newchannel")
    assert all(
        f.get("Privilege", "agent,all").startswith("agent")
        for f in agent_only.frames()
        if f.event not in (None, "FullyBooted")
    )


async def test_timestamps_and_channelvars() -> None:
    config = SimConfig(timestampevents=True, channelvars=("UIN", "TICKET_ID"))
    async with SimulatedAsterisk(config) as sim:
        probe = await connect(sim)
        call = sim.place_call("79000000001", "Alice")
        call.two.set_var("__UIN", "91782267")  # as the AGI script does before Queue()
        await sim.run_for(0.5)
        sim.add_agent("agent1", answer_delay_s=2)  # rings at the caller's next retry tick, +1 s
        await probe.send(Action="QueueStatus", ActionID="qs")
        await sim.run_for(3)
        await probe.read_until(b"AgentConnect")
        await probe.read_until(b"QueueStatusComplete")
        frames = probe.frames()
        for f in frames:
            if f.event in (None, "FullyBooted") or "EventList" in f or f.get("ActionID") == "qs":
                assert "Timestamp" not in f
            else:
                assert f.names[2] == "Timestamp", f.event
        connect_ev = probe.events("AgentConnect")[0]
        # One retry tick (1 s plus the wait loop's own work), then 2 s of ringing.
        rang_s = sim.config.start_s + 1 + sim.config.queue_tick_overhead_s
        assert connect_ev.get("Timestamp") == f"{rang_s + 2:.6f}"
        pairs = connect_ev.headers
        assert ("ChanVariable", "UIN=91782267") in pairs
        assert ("DestChanVariable", "UIN=91782267") in pairs  # inherited by the agent leg
        assert ("DestChanVariable", "TICKET_ID=") in pairs
        newchannels = probe.events("Newchannel")
        assert ("ChanVariable", "UIN=") in newchannels[-1].headers  # inherited values come later
        handset = [
            f
            for f in frames
            if f.get("Channel", "").endswith(";1") and "hotline-in" in f.get("Channel", "")
        ]
        # The handset half carries the headers, but never a value (DESIGN.md, 08).
        assert handset and all(("ChanVariable", "UIN=") in f.headers for f in handset)


async def test_dropping_the_ami_clients_cuts_them_and_the_server_takes_new_ones(
    sim: SimulatedAsterisk,
) -> None:
    one, two = await connect(sim), await connect(sim)
    await one.read_until(b"Authentication accepted")
    await two.read_until(b"Authentication accepted")
    assert sim.drop_ami_clients() == 2
    assert not await one.read_eof() or b"Goodbye" not in one.data  # cut, no logoff
    await two.read_eof()
    assert sim.server.sessions == set()
    again = await connect(sim)
    await again.send(Action="Ping", ActionID="after-the-cut")
    await again.read_until(b"ActionID: after-the-cut")
    assert b"Ping: Pong" in again.data
