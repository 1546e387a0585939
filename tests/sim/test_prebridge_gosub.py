"""Queue()'s pre-bridge Gosub in the model, read from the project's rendered dialplan.

On a real Asterisk the Gosub runs on the member's channel after the member answers and
before the caller is bridged (shared/DESIGN.md, Reading Asterisk right): `AgentConnect`'s
`HoldTime` is stamped after it, app_queue's "within the service level" at the answer. The
simulator runs the project's own `whisper` route there, for as long as the rendered
prompt lasts; with the default config (no Gosub) nothing changes.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from agi.call_routes import on_agi_whisper
from agi.server import AgiServer
from asterisksim import QueueConfig, SimConfig, SimulatedAsterisk
from asterisksim.dialplan import prebridge_gosub_url, sound_durations
from asterisksim.transcript import Frame
from core.settings import AgiSettings, AsteriskSettings, Settings
from hotline.asterisk_config import CONFIG_DIR, render
from ivr.catalogue import all_sound_files
from tests.deploy.test_asterisk_config import ENV

from .conftest import AmiProbe, connect

MANIFEST = CONFIG_DIR / "sounds" / "manifest.json"


def _member_answers(probe: AmiProbe) -> list[Frame]:
    return [
        f
        for f in probe.events("DialEnd")
        if f["DialStatus"] == "ANSWER" and f["DestChannel"].startswith("Local/agent")
    ]


@pytest.fixture
async def whisper_server() -> AsyncIterator[AgiServer]:
    server = AgiServer(AgiSettings(host="127.0.0.1", port=0))
    server.add_route("whisper", on_agi_whisper)
    await server.start()
    try:
        yield server
    finally:
        await server.close()


def _config(tmp_path: Path, port: int, asterisk: AsteriskSettings, **queue: object) -> SimConfig:
    """The simulator on the project's rendered dialplan and sounds."""
    settings = Settings(agi=AgiSettings(host="127.0.0.1", port=port), asterisk=asterisk)
    render(tmp_path, ENV, settings)
    dialplan = (tmp_path / "extensions.conf").read_text()
    return SimConfig(
        timestampevents=True,
        queues=[QueueConfig("hotline", **queue), QueueConfig("support")],  # type: ignore[arg-type]
        prompts=frozenset(all_sound_files()),
        member_gosub_url=prebridge_gosub_url(dialplan, "hotline"),
        sound_durations_s=sound_durations(MANIFEST),
    )


async def test_the_default_dialplan_has_no_gosub_and_the_wait_is_the_agents(
    tmp_path: Path, whisper_server: AgiServer
) -> None:
    config = _config(tmp_path, whisper_server.port, AsteriskSettings())
    assert config.member_gosub_url is None
    async with SimulatedAsterisk(config) as sim:
        probe = await connect(sim)
        sim.add_agent("agent1", answer_delay_s=2, talk_s=3)
        sim.place_call("79000000001", "Alice")
        await sim.run_for(10)
        await probe.read_until(b"AgentComplete")
    (answer,) = _member_answers(probe)
    (connected,) = probe.events("AgentConnect")
    assert connected["HoldTime"] == "2"
    assert float(connected["Timestamp"]) == float(answer["Timestamp"])
    assert not probe.events("AGIExecStart")


@pytest.mark.parametrize("language", ["ru", "en"])
async def test_the_gosub_runs_between_the_answer_and_the_bridge(
    tmp_path: Path, whisper_server: AgiServer, language: str
) -> None:
    asterisk = AsteriskSettings(whisper="on", agent_language=language)
    # The member answers 39.x s after the caller joined, inside the level of 40 s; the
    # whisper then pushes AgentConnect's HoldTime past it.
    config = _config(tmp_path, whisper_server.port, asterisk, timeout_s=60)
    assert (
        config.member_gosub_url == f"agi://127.0.0.1:{whisper_server.port}/whisper?lang={language}"
    )
    whisper_s = config.sound_durations_s[f"{language}/hotline/whisper-hotline"]
    assert 0.5 < whisper_s <= 2.0
    async with SimulatedAsterisk(config) as sim:
        probe = await connect(sim)
        sim.add_agent("agent1", answer_delay_s=39.5, talk_s=3)
        sim.place_call("79000000001", "Alice")
        await sim.run_for(60)
        await probe.read_until(b"AgentComplete")
        queue = sim.pbx.queues["hotline"]
        assert (queue.completed, queue.completed_in_sl) == (1, 1)  # decided at the answer
        truth = sim.ground_truth[0]
    (joined,) = probe.events("QueueCallerJoin")
    (answer,) = _member_answers(probe)
    (left,) = probe.events("QueueCallerLeave")
    (connected,) = probe.events("AgentConnect")
    (played,) = [f for f in probe.events("AGIExecEnd") if "STREAM FILE" in f["Command"]]
    assert played["Command"] == 'STREAM FILE "hotline/whisper-hotline" ""'
    assert played["Channel"] == connected["DestChannel"]  # on the member's channel
    assert played["Language"] == language
    names = [f.event for f in probe.frames()]
    assert names.index("QueueCallerLeave") < names.index("AGIExecStart")
    assert names.index("AGIExecEnd") < names.index("AgentConnect") < names.index("BridgeEnter")
    gap_s = float(connected["Timestamp"]) - float(answer["Timestamp"])
    assert gap_s == pytest.approx(whisper_s, abs=0.01)  # the rendered file's length
    assert float(left["Timestamp"]) == float(answer["Timestamp"])
    hold_s = int(float(connected["Timestamp"])) - int(float(joined["Timestamp"]))
    assert connected["HoldTime"] == str(hold_s) and hold_s > 40
    assert truth.visits[0].hold_time_field == hold_s  # the caller waited through it
    assert truth.visits[0].wait_s == pytest.approx(39.5 + whisper_s, abs=0.01)


async def test_a_caller_gone_during_the_gosub_is_connected_and_completed(
    tmp_path: Path, whisper_server: AgiServer
) -> None:
    """app_queue goes on to AgentConnect after the Gosub whatever the caller did."""
    config = _config(tmp_path, whisper_server.port, AsteriskSettings(whisper="on"))
    async with SimulatedAsterisk(config) as sim:
        probe = await connect(sim)
        sim.add_agent("agent1", answer_delay_s=2)
        sim.place_call("79000000001", "Alice", patience_s=2.5)  # hangs up mid-whisper
        await sim.run_for(10)
        await probe.read_until(b"AgentComplete")
        assert sim.pbx.queues["hotline"].abandoned == 0
        assert not sim.pbx.busy  # the agent is free again
    (connected,) = probe.events("AgentConnect")
    (complete,) = probe.events("AgentComplete")
    assert (complete["Reason"], complete["TalkTime"]) == ("caller", "0")
    assert not probe.events("BridgeEnter")
    assert connected["HoldTime"] in ("3", "4")


def test_the_dialplan_readers_examples_hold() -> None:
    import doctest

    import asterisksim.dialplan

    assert doctest.testmod(asterisksim.dialplan).failed == 0


def test_a_gosub_without_its_context_is_refused() -> None:
    with pytest.raises(ValueError, match="no AGI step"):
        prebridge_gosub_url("[in]\nexten => 1,1,Queue(hotline,t,,,,,nowhere)\n", "hotline")
