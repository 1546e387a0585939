"""Helpers that reduce an AMI byte stream to what the fidelity tests compare."""

from __future__ import annotations

import re
from collections import defaultdict

from asterisksim.transcript import Frame, parse

# The call and queue events the brief names; everything else is tolerated noise (see tests).
KEEP = {
    "Newchannel",
    "Newstate",
    "Hangup",
    "DialBegin",
    "DialEnd",
    "BridgeEnter",
    "BridgeLeave",
    "QueueCallerJoin",
    "QueueCallerLeave",
    "QueueCallerAbandon",
    "AgentCalled",
    "AgentConnect",
    "AgentComplete",
    "AgentRingNoAnswer",
    "QueueMemberStatus",
    "QueueMemberPause",
    "BlindTransfer",
    "AttendedTransfer",
    "AGIExecStart",
    "AGIExecEnd",
}
QUEUE_LEVEL = {
    "QueueCallerJoin",
    "AgentCalled",
    "AgentConnect",
    "AgentComplete",
    "QueueCallerAbandon",
    "BlindTransfer",
    "AttendedTransfer",
    "QueueMemberPause",
    "AGIExecStart",
}
VALUES = (
    "HoldTime",
    "RingTime",
    "TalkTime",
    "Position",
    "OriginalPosition",
    "Reason",
    "Result",
    "DialStatus",
    "Queue",
    "MemberName",
    "Command",
    "Count",
    "Paused",
    "PausedReason",
)
_COUNTER = re.compile(r"-[0-9a-f]{8};")


def events(data: bytes) -> list[Frame]:
    return [f for f in parse(data)[1] if f.event in KEEP]


def normaliser() -> callable:
    seen: dict[str, str] = {}

    def norm(name: str | None) -> str | None:
        if name is None:
            return None
        base = _COUNTER.sub(";", name)
        match = _COUNTER.search(name)
        if match is None:
            return name
        key = name[: match.start()] + match.group(0)
        if key not in seen:
            seen[key] = str(sum(1 for k in seen if k.startswith(name[: match.start()])))
        return base.replace(";", f"#{seen[key]};")

    return norm


def _settle(names: list[str]) -> list[str]:
    """AgentComplete and the caller's BridgeLeave race in Asterisk (01 vs 02): fix one order."""
    out = list(names)
    for i in range(len(out) - 1):
        if out[i] == "BridgeLeave" and out[i + 1] == "AgentComplete":
            out[i], out[i + 1] = out[i + 1], out[i]
    return out


def per_channel(frames: list[Frame]) -> dict[str, list[str]]:
    """Event names per channel, in order (channel names with their counters normalised)."""
    norm = normaliser()
    out: dict[str, list[str]] = defaultdict(list)
    for f in frames:
        chan = f.get("Channel") or f.get("DestChannel") or f.get("Interface")
        out[norm(chan) or "-"].append(f.event or "")
    return {k: _settle(v) for k, v in out.items()}


def queue_level(frames: list[Frame]) -> dict[str, list[tuple[str, tuple[str | None, ...]]]]:
    """Queue events with their values, per caller channel (callers run on their own threads)."""
    norm = normaliser()
    out: dict[str, list[tuple[str, tuple[str | None, ...]]]] = defaultdict(list)
    for f in frames:
        if f.event in QUEUE_LEVEL:
            key = norm(f.get("Channel") or f.get("TransfereeChannel") or f.get("Interface"))
            out[key or "-"].append((f.event or "", tuple(f.get(v) for v in VALUES)))
    return dict(out)


def header_shapes(frames: list[Frame]) -> dict[str, set[tuple[str, ...]]]:
    shapes: dict[str, set[tuple[str, ...]]] = defaultdict(set)
    for f in frames:
        shapes[f.event or ""].add(tuple(n for n in f.names if "ChanVariable" not in n))
    return dict(shapes)


TEARDOWN = {"SoftHangupRequest", "HangupRequest", "BridgeLeave", "Hangup"}


def teardown_per_channel(frames: list[Frame]) -> dict[str, list[str]]:
    """How each channel ends: its (Soft)HangupRequest, BridgeLeave and Hangup, in order."""
    norm = normaliser()
    out: dict[str, list[str]] = defaultdict(list)
    for f in frames:
        if f.event in TEARDOWN:
            out[norm(f.get("Channel")) or "-"].append(f.event or "")
    return dict(out)
