"""The simulator names the caller as the real Asterisk 22 does: both Local halves made
`<unknown>`, then a `NewCallerid` on each with the number, before the queue join."""

from __future__ import annotations

import re

from asterisksim import SimConfig, SimulatedAsterisk
from asterisksim.transcript import Frame, parse
from tests.conftest import FIXTURES

from .conftest import connect

KEPT = {"Newchannel", "NewCallerid", "QueueCallerJoin"}


def _caller_story(frames: list[Frame]) -> list[tuple[str, str, str, str, str]]:
    """(event, Local half, CallerIDNum, CallerIDName, Privilege's class) of the first
    caller's channels, up to its queue join."""
    story = []
    for f in frames:
        channel = f.get("Channel") or ""
        if f.event not in KEPT or not channel.startswith("Local/100@hotline-in-00000000"):
            continue
        half = re.sub(r".*;", ";", channel)
        privilege = (f.get("Privilege") or "").split(",")[0]
        story.append((f.event, half, f.get("CallerIDNum"), f.get("CallerIDName"), privilege))
        if f.event == "QueueCallerJoin":
            break
    return story


async def test_newcallerid_follows_newchannel_as_on_the_real_asterisk() -> None:
    real = _caller_story(parse((FIXTURES / "01-answered.txt").read_bytes())[1])
    async with SimulatedAsterisk(SimConfig()) as sim:
        probe = await connect(sim)
        sim.add_agent("agent1", answer_delay_s=2)
        sim.place_call("79000000001", "Alice")
        await sim.run_for(3)
        await probe.read_until(b"AgentConnect")
    simulated = _caller_story(probe.frames())
    assert simulated == real
    assert [e[:3] for e in simulated[:4]] == [
        ("Newchannel", ";1", "<unknown>"),
        ("Newchannel", ";2", "<unknown>"),
        ("NewCallerid", ";1", "79000000001"),
        ("NewCallerid", ";2", "79000000001"),
    ]
