"""Asterisk channel names: the device a channel was made on, its agent, its Local half.

A channel is named after the device it was made on plus a sequence number Asterisk
prints as `-%08x`; a Local channel (`Local/<exten>@<context>`) comes as two halves,
`;1` (the side that was dialled) and `;2` (the side that runs the dialplan). A queue
member's interface is the device as dialled, with Local's options (`/n`) after it:

>>> channel = "Local/agent1@agents-0000000a;1"
>>> interface_of(channel), agent_of(channel), local_half(channel)
('Local/agent1@agents', 'agent1', 1)
>>> made_on(channel, "Local/agent1@agents/n")
True
>>> interface_of("PJSIP/agent7-0000001a"), agent_of("PJSIP/agent7-0000001a")
('PJSIP/agent7', 'agent7')
"""

from __future__ import annotations

import re

# The sequence Asterisk appends to a device's name (`%08x`: more digits once it wraps
# past 8), and for a Local channel the half.
_SEQUENCE = re.compile(r"-[0-9a-f]{8,}(;[12])?$")
LOCAL = "Local/"


def interface_of(channel: str) -> str:
    """The device (queue member interface) a channel was made on.

    >>> interface_of("PJSIP/trunk-00000001")
    'PJSIP/trunk'
    >>> interface_of("Local/100@hotline-in-00000004;2")
    'Local/100@hotline-in'
    >>> interface_of("PJSIP/agent7")  # no sequence: already a device
    'PJSIP/agent7'
    """
    return _SEQUENCE.sub("", channel)


def agent_of(channel: str) -> str:
    """The agent a channel faces: the device's name, or a Local channel's extension.

    >>> agent_of("Local/agent3@agents-00000011;2")
    'agent3'
    >>> agent_of("Local/100@hotline-in-00000002;1")  # not an agent's: its extension
    '100'
    >>> agent_of("PJSIP/agent1-00000002")
    'agent1'
    """
    device = interface_of(channel).partition("/")[2]
    return device.partition("@")[0]


def device_of_interface(interface: str) -> str:
    """A member interface as channel names spell its device: Local's options dropped.

    >>> device_of_interface("Local/agent1@agents/n")
    'Local/agent1@agents'
    >>> device_of_interface("PJSIP/agent7")
    'PJSIP/agent7'
    """
    if interface.startswith(LOCAL):
        return LOCAL + interface[len(LOCAL) :].partition("/")[0]
    return interface


def made_on(channel: str, interface: str) -> bool:
    """Whether `channel` was made by dialling the member `interface`.

    >>> made_on("Local/agent1@agents-0000000c;2", "Local/agent1@agents/n")
    True
    >>> made_on("Local/agent10@agents-0000000c;1", "Local/agent1@agents/n")
    False
    """
    device = device_of_interface(interface)
    return bool(device) and interface_of(channel) == device


def local_half(channel: str) -> int | None:
    """1 or 2 for the halves of a Local channel, None for any other channel.

    >>> local_half("Local/100@hotline-in-00000000;2"), local_half("PJSIP/trunk-00000001")
    (2, None)
    """
    if not channel.startswith(LOCAL):
        return None
    if channel.endswith(";1"):
        return 1
    if channel.endswith(";2"):
        return 2
    return None


def local_partner(channel: str) -> str:
    """The other half of a Local channel; "" for any other channel.

    >>> local_partner("Local/100@hotline-in-00000000;1")
    'Local/100@hotline-in-00000000;2'
    >>> local_partner("PJSIP/trunk-00000001")
    ''
    """
    half = local_half(channel)
    if half is None:
        return ""
    return f"{channel[:-1]}{3 - half}"
