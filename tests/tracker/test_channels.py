"""The one channel-name grammar (`core.ami.channels`) over the names Asterisk really sent."""

from __future__ import annotations

import doctest
import re
from pathlib import Path

import pytest

from core.ami import channels
from core.ami.actions import agent_channel_of, caller_channels_of
from core.ami.channels import (
    agent_of,
    device_of_interface,
    interface_of,
    local_half,
    local_partner,
    made_on,
)
from core.ami.parser import AmiMessage, AmiParser

# Headers whose value is one channel name.
CHANNEL_HEADERS = re.compile(r"^(\w*Channel): ((?:Local|PJSIP)/\S+)$", re.MULTILINE)


def _messages(transcripts_dir: Path) -> list[AmiMessage]:
    messages: list[AmiMessage] = []
    for path in sorted(transcripts_dir.glob("0*.txt")):
        if not path.name.endswith((".sent.txt", ".wire.txt")):
            messages += AmiParser().feed(path.read_bytes())
    return messages


def _channel_names(transcripts_dir: Path) -> set[str]:
    names: set[str] = set()
    for message in _messages(transcripts_dir):
        text = message.text.replace("\r\n", "\n")
        names |= {value for _header, value in CHANNEL_HEADERS.findall(text)}
    return names


def test_the_docstring_examples_hold() -> None:
    result = doctest.testmod(channels, raise_on_error=False)
    assert result.attempted >= 10 and result.failed == 0


@pytest.mark.parametrize(
    ("channel", "interface", "agent", "half"),
    [
        ("PJSIP/agent7-0000001a", "PJSIP/agent7", "agent7", None),
        ("PJSIP/trunk-00000001", "PJSIP/trunk", "trunk", None),
        ("Local/agent1@agents-0000000a;1", "Local/agent1@agents", "agent1", 1),
        ("Local/agent1@agents-0000000a;2", "Local/agent1@agents", "agent1", 2),
        ("Local/100@hotline-in-00000004;2", "Local/100@hotline-in", "100", 2),
        ("Local/201@transfer-targets-0000002b;1", "Local/201@transfer-targets", "201", 1),
        ("Local/agent2@agents-100000000;1", "Local/agent2@agents", "agent2", 1),  # wrapped
        ("Local/100@hotline-in", "Local/100@hotline-in", "100", None),  # an Originate's
    ],
)
def test_a_channel_name_reads_as_device_agent_and_half(
    channel: str, interface: str, agent: str, half: int | None
) -> None:
    assert interface_of(channel) == interface
    assert agent_of(channel) == agent
    assert local_half(channel) == half
    assert bool(local_partner(channel)) == (half is not None)


def test_every_channel_in_the_transcripts_is_a_device_and_a_sequence(
    transcripts_dir: Path,
) -> None:
    names = _channel_names(transcripts_dir)
    assert len(names) > 50
    for name in names:
        if name == "Local/100@hotline-in":  # the Originate's target, not a channel
            continue
        assert interface_of(name) != name, name
        assert local_half(name) in (1, 2), name
        partner = local_partner(name)
        assert local_partner(partner) == name and interface_of(partner) == interface_of(name)


def test_an_agents_channels_are_made_on_its_member_interface(transcripts_dir: Path) -> None:
    """AgentCalled/AgentConnect name the member, its interface and the channel it rings."""
    seen = 0
    for message in _messages(transcripts_dir):
        if message.name not in ("AgentCalled", "AgentConnect"):
            continue
        channel, interface = message.get("DestChannel"), message.get("Interface")
        assert agent_of(channel) == message.get("MemberName"), message.text
        assert made_on(channel, interface), message.text
        assert interface_of(channel) == device_of_interface(interface)
        seen += 1
    assert seen > 20


def test_made_on_wants_the_whole_device() -> None:
    assert made_on("Local/agent1@agents-0000000c;1", "Local/agent1@agents/n")
    assert not made_on("Local/agent10@agents-0000000c;1", "Local/agent1@agents/n")
    assert not made_on("Local/agent1@agents-0000000c;1", "")
    assert made_on("PJSIP/agent7-0000001a", "PJSIP/agent7")


def test_the_transfer_actions_find_the_agents_own_half() -> None:
    call = [
        "Local/100@hotline-in-00000000;1",
        "Local/100@hotline-in-00000000;2",
        "Local/agent1@agents-00000001;1",
        "Local/agent1@agents-00000001;2",
    ]
    assert agent_channel_of(call, "agent1") == "Local/agent1@agents-00000001;1"
    assert agent_channel_of(["PJSIP/agent7-0000001a"], "agent7") == "PJSIP/agent7-0000001a"
    assert agent_channel_of(call, "agent2") is None
    assert caller_channels_of(call) == call[:2]
