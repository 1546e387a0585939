"""With HOTLINE_WHISPER=on, the whisper stays within ~2 s of the caller's wait.

An instance of its own, rendered with the whisper on (Queue()'s pre-bridge Gosub running
the `whisper` route on the agent's channel), with its own services and Redis database.
The caller waits through the Gosub (`HoldTime` is stamped after it), so it must be short,
and in the agent's language (HOTLINE_AGENT_LANGUAGE, default ru), not the caller's.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.asterisk.conftest import ASTERISK_REDIS_URL, Services, running_instance, running_services
from tests.asterisk.harness import Line
from tests.asterisk.instance import AsteriskInstance

ANSWER_S = 2
WHISPER_MAX_S = 2  # the longest whisper prompt is under 2 s; HoldTime is whole seconds
WHISPER_REDIS_URL = ASTERISK_REDIS_URL.rsplit("/", 1)[0] + "/20"


@pytest.fixture(scope="module")
def asterisk(
    asterisk_prefix: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[AsteriskInstance]:
    home = tmp_path_factory.mktemp("asterisk-whisper")
    with running_instance(home, asterisk_prefix, whisper="on") as instance:
        yield instance


@pytest.fixture(scope="module")
def services(asterisk: AsteriskInstance) -> Iterator[Services]:
    with running_services(asterisk, WHISPER_REDIS_URL) as started:
        yield started


async def test_the_whisper_adds_at_most_two_seconds_in_the_agents_language(
    line: Line,
) -> None:
    await line.add_agent("agent01", answer_s=ANSWER_S)
    caller = await line.call("79000000003", "Vera")
    connect = await line.event("AgentConnect", caller)
    await asyncio.sleep(1)
    await line.hang_up(caller)
    await line.agent_complete(caller, "agent01")
    played = [
        frame
        for frame in line.ami.events("AGIExecStart")
        if frame.get("Command", "").startswith("STREAM FILE")
        and frame.get("Channel") == connect["DestChannel"]
    ]
    assert [f["Command"] for f in played] == ['STREAM FILE "hotline/whisper-hotline" ""']
    assert played[0]["Language"] == "ru"  # the agent's language, set on the agent's channel
    hold_time_s = int(connect["HoldTime"])
    assert ANSWER_S <= hold_time_s <= ANSWER_S + WHISPER_MAX_S
    # From the agent's answer to AgentConnect (the bridge): the whisper, to the millisecond.
    (answered,) = line.ami.events(
        "DialEnd", DialStatus="ANSWER", DestChannel=connect["DestChannel"]
    )
    whisper_s = float(connect["Timestamp"]) - float(answered["Timestamp"])
    assert 0.5 < whisper_s <= WHISPER_MAX_S
