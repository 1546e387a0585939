"""The model set up from the project's rendered config, and what it then does as Asterisk does.

`asterisksim.site` reads the rendered queues.conf and dialplan and the sounds' lengths; the
model then plays each prompt for its file's length (GET DATA: the prompt, then the
timeout), waits out the wrap-up, runs the survey when the agent hangs up, and answers a
BlindTransfer action before its event. tests/asterisk/test_sim_vs_real.py holds the same
model to a real Asterisk; these are the fast checks of each piece.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from asterisksim import SimConfig, SimulatedAsterisk
from asterisksim.site import (
    MOUNTED_FOLDERS,
    core_durations,
    queue_configs,
    site_config,
    site_sound_durations,
)
from core.settings import AgiSettings, Settings
from hotline.asterisk_config import CONFIG_DIR, render
from ivr.catalogue import all_sound_files
from tests.deploy.test_asterisk_config import ENV

from .conftest import AmiProbe, agi_environment, connect

MANIFEST = CONFIG_DIR / "sounds" / "manifest.json"
Script = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


def _rendered(tmp_path: Path, agi_port: int = 4573) -> dict[str, object]:
    settings = Settings(agi=AgiSettings(host="127.0.0.1", port=agi_port))
    render(tmp_path, ENV, settings)
    return site_config(
        (tmp_path / "extensions.conf").read_text(),
        (tmp_path / "queues.conf").read_text(),
        MANIFEST,
    )


def test_the_rendered_queues_conf_gives_the_queues(tmp_path: Path) -> None:
    queues = {q.name: q for q in _rendered(tmp_path)["queues"]}  # type: ignore[attr-defined]
    assert set(queues) == {"hotline", "support"}  # the template (!) is not a queue
    for queue in queues.values():
        assert queue.strategy == "fewestcalls"
        assert (queue.servicelevel_s, queue.timeout_s, queue.retry_s) == (40, 15.0, 1.0)
        assert queue.wrapuptime_s == 10.0  # HOTLINE_WRAPUP_S's default
        assert queue.ringinuse is False and queue.autofill is True


def test_the_rendered_dialplan_gives_the_call_path(tmp_path: Path) -> None:
    site = _rendered(tmp_path, agi_port=4999)
    assert site["entry_exten"] == ENV.get("HOTLINE_NUMBER", "100")
    assert site["agi_url"] == "agi://127.0.0.1:4999/hotline?lang=ru&linkedid=${CHANNEL(linkedid)}"
    assert site["survey_agi_url"] == "agi://127.0.0.1:4999/survey"
    assert site["transfer_context"] == "hotline-transfer"
    assert site["entry_language"] == "ru"  # set before the AGI: Russian first
    assert site["transfer_agi_url"] == "agi://127.0.0.1:4999/transfer"
    assert site["member_gosub_url"] is None  # no whisper by default
    # No AGI server (FAILURE before any UIN): 4 tries in all, a second apart.
    assert (site["agi_tries"], site["agi_retry_wait_s"]) == (4, 1.0)
    assert (site["answer_delay_s"], site["agent_answer_wait_s"]) == (0.02, 0.02)


def test_queues_conf_inheritance_and_overrides() -> None:
    text = "[t](!)\nwrapuptime=5\nringinuse=yes\n[a](t)\n[b](t)\nwrapuptime = 0 ; none\n"
    queues = {q.name: q for q in queue_configs(text)}
    assert (queues["a"].wrapuptime_s, queues["a"].ringinuse) == (5.0, True)
    assert queues["b"].wrapuptime_s == 0.0
    assert queues["a"].autofill is False  # [general] says nothing: app_queue's default


def test_sounds_last_as_the_site_plays_them() -> None:
    durations = site_sound_durations(MANIFEST)
    core = core_durations()
    assert "ru/hotline" in MOUNTED_FOLDERS and "ru/digits" not in MOUNTED_FOLDERS
    # The project's rendered files where they are mounted over Asterisk's ...
    assert durations["ru/hotline/uin-menu"] == pytest.approx(3.643)
    # ... Asterisk's own recorded files where they are not ...
    assert durations["ru/digits/4"] == core["ru/digits/4"] == pytest.approx(0.609)
    assert durations["en/digits/4"] == core["en/digits/4"] == pytest.approx(0.802)
    # ... and ours where Asterisk has none; a site that mounted our digits would hear them.
    assert durations["ru/hotline/pause"] == pytest.approx(0.5)
    ours = site_sound_durations(MANIFEST, mounted=("ru/hotline", "ru/digits"))
    assert ours["ru/digits/4"] == pytest.approx(0.882)


@pytest.fixture
async def agi_script() -> AsyncIterator[Callable[[Script], Awaitable[int]]]:
    servers: list[asyncio.Server] = []

    async def start(script: Script) -> int:
        server = await asyncio.start_server(script, "127.0.0.1", 0)
        servers.append(server)
        return int(server.sockets[0].getsockname()[1])

    yield start
    for server in servers:
        server.close()


def _commands(*commands: str, replies: list[str]) -> Script:
    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await agi_environment(reader)
        for command in commands:
            writer.write(command.encode() + b"\n")
            await writer.drain()
            replies.append((await reader.readline()).decode().strip())
        writer.close()

    return script


def _site_config(tmp_path: Path, **overrides: object) -> SimConfig:
    site = _rendered(tmp_path) | overrides
    return SimConfig(
        **site,  # type: ignore[arg-type]
        timestampevents=True,
        prompts=frozenset(all_sound_files()),
    )


def _spans(probe: AmiProbe) -> dict[str, float]:
    """Seconds from AGIExecStart to AGIExecEnd, by command."""
    starts = {f["CommandId"]: float(f["Timestamp"]) for f in probe.events("AGIExecStart")}
    return {
        f["Command"]: round(float(f["Timestamp"]) - starts[f["CommandId"]], 3)
        for f in probe.events("AGIExecEnd")
    }


async def test_get_data_plays_its_prompt_then_waits_the_timeout(
    tmp_path: Path, agi_script: Callable[[Script], Awaitable[int]]
) -> None:
    replies: list[str] = []
    commands = (
        "SET VARIABLE CHANNEL(language) ru",
        'GET DATA "hotline/uin-menu" 3000 1',
        'SAY DIGITS "4040" ""',
        'GET DATA "hotline/no-such-prompt" 3000 1',
        'GET DATA "hotline/welcome" 3000 1',
    )
    port = await agi_script(_commands(*commands, replies=replies))
    config = _site_config(tmp_path, agi_url=f"agi://127.0.0.1:{port}/hotline")
    async with SimulatedAsterisk(config) as sim:
        probe = await connect(sim)
        sim.add_agent("agent1")
        call = sim.place_call("79000000001", "Alice")
        await sim.run_for(7.5)  # while the UIN is being said
        call.two.dtmf.append("1")  # not yet pressed when the next GET DATA starts ...
        await sim.run_for(30)
        await probe.read_until(b"QueueCallerJoin")
    spans = _spans(probe)
    durations = config.sound_durations_s
    offer, repeat = durations["ru/hotline/uin-menu"], durations["ru/hotline/welcome"]
    assert spans[commands[1]] == pytest.approx(offer + 3.0, abs=0.002)  # the prompt, then 3 s
    assert spans[commands[2]] == pytest.approx(
        2 * (durations["ru/digits/4"] + durations["ru/digits/0"]), abs=0.002
    )
    assert spans[commands[3]] == 0.0
    assert replies[1] == "200 result= (timeout)"
    assert replies[3] == "200 result=-1"  # Asterisk cannot stream the prompt
    # ... the key pressed while waiting after the first: taken at once by the last one.
    assert replies[4] == "200 result=1" and spans[commands[4]] == 0.0
    assert repeat > 1  # (the prompt it did not have to play)


async def test_the_hotline_agi_finds_the_channel_speaking_russian(
    tmp_path: Path, agi_script: Callable[[Script], Awaitable[int]]
) -> None:
    """[hotline-in] sets the channel's language before its AGI, as the real Asterisk runs
    it: the environment says so (the route then sends nothing before the greeting) and
    the channel's events show it."""
    environments: list[list[str]] = []

    async def hotline(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        environments.append(await agi_environment(reader))
        writer.close()

    port = await agi_script(hotline)
    config = _site_config(tmp_path, agi_url=f"agi://127.0.0.1:{port}/hotline")
    async with SimulatedAsterisk(config) as sim:
        probe = await connect(sim)
        sim.add_agent("agent1")
        sim.place_call("79000000001", "Alice")
        await sim.run_for(5)
        await probe.read_until(b"QueueCallerJoin")
    (env,) = environments
    assert "agi_language: ru" in env
    (joined,) = probe.events("QueueCallerJoin")
    assert joined["Language"] == "ru"


async def test_the_survey_runs_after_the_agent_hangs_up(
    tmp_path: Path, agi_script: Callable[[Script], Awaitable[int]]
) -> None:
    requests: list[str] = []

    async def survey(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        env = await agi_environment(reader)
        requests.append(next(e for e in env if e.startswith("agi_network_script")))
        writer.write(b'GET DATA "hotline/survey-solved" 5000 1\n')
        await writer.drain()
        await reader.readline()
        writer.write(b"HANGUP\n")
        await writer.drain()
        await reader.readline()
        writer.close()

    port = await agi_script(survey)
    config = _site_config(tmp_path, agi_url=None, survey_agi_url=f"agi://127.0.0.1:{port}/survey")
    async with SimulatedAsterisk(config) as sim:
        probe = await connect(sim)
        sim.add_agent("agent1", answer_delay_s=2, talk_s=5)
        sim.place_call("79000000001", "Alice")
        await sim.run_for(30)
        await probe.read_until(b"Hangup")
        truth = sim.ground_truth[0]
    assert requests == ["agi_network_script: survey"]
    (complete,) = probe.events("AgentComplete")
    assert complete["Reason"] == "agent"
    names = [(f.event, f.get("Channel")) for f in probe.frames()]
    caller = complete["Channel"]
    assert names.index(("AgentComplete", caller)) < names.index(("AGIExecStart", caller))
    assert names.index(("AGIExecEnd", caller)) < names.index(("Hangup", caller))
    ended = [f for f in probe.events("Hangup") if f["Channel"] == caller]
    # In Russian: [hotline-in] set the channel's language before the (absent) AGI.
    solved_s = config.sound_durations_s["ru/hotline/survey-solved"]
    assert float(ended[0]["Timestamp"]) - float(complete["Timestamp"]) == pytest.approx(
        solved_s + 5.0, abs=0.01
    )
    assert truth.outcome == "answered" and len(truth.visits) == 1


async def test_an_agent_is_not_rung_in_wrap_up(tmp_path: Path) -> None:
    config = _site_config(tmp_path, agi_url=None, survey_agi_url=None)
    async with SimulatedAsterisk(config) as sim:
        probe = await connect(sim)
        sim.add_agent("agent1", answer_delay_s=1, talk_s=3)
        sim.place_call("79000000001", "Alice")
        await sim.run_for(2)
        sim.place_call("79000000002", "Bob")
        await sim.run_for(30)
        await probe.read_until(b"AgentComplete")
    completes = probe.events("AgentComplete")
    called = probe.events("AgentCalled")
    assert len(called) == 2
    end_s = float(completes[0]["Timestamp"])
    # queues.conf's wrapuptime=10 on app_queue's whole seconds: int(end) + 10 at the earliest.
    assert float(called[1]["Timestamp"]) >= int(end_s) + 10
    assert float(called[1]["Timestamp"]) < int(end_s) + 11


async def test_a_blind_transfer_event_follows_the_reply_at_once(sim: SimulatedAsterisk) -> None:
    probe = await connect(sim)
    sim.add_agent("agent1", answer_delay_s=1)
    sim.add_agent("agent3", "support", answer_delay_s=1)
    call = sim.place_call("79000000001", "Alice")
    await sim.run_for(3)
    assert call.leg is not None
    await probe.send(
        Action="BlindTransfer",
        ActionID="bt",
        Channel=call.leg.one.name,
        Context="transfer-targets",
        Exten="300",
    )
    await probe.read_until(b"Event: BlindTransfer")
    frames = probe.frames()
    reply = next(i for i, f in enumerate(frames) if f.get("ActionID") == "bt")
    event = next(i for i, f in enumerate(frames) if f.event == "BlindTransfer")
    assert reply < event  # the reply first, the event in the same instant (real: < 1 ms)


def test_the_site_readers_examples_hold() -> None:
    import doctest

    import asterisksim.site

    assert doctest.testmod(asterisksim.site).failed == 0


def test_the_model_mounts_the_sounds_the_site_mounts() -> None:
    """The demo's simulator plays the files a site plays: the project's prompts where
    docker-compose.yml (and the real test instance) mount them over Asterisk's core sounds,
    Asterisk's own recordings elsewhere. A change of mounts must change the model too."""
    from tests.asterisk.instance import PROJECT_SOUNDS

    compose = (CONFIG_DIR.parent / "docker-compose.yml").read_text()
    mounted = re.findall(
        r"\./asterisk-config/sounds/([a-z]+/[a-z]+):/var/lib/asterisk/sounds/", compose
    )
    assert sorted(mounted) == sorted(MOUNTED_FOLDERS) == sorted(PROJECT_SOUNDS)
