"""More of the harness's hands: Asterisk's own figures, keys the caller presses, the story of
a caller as Asterisk told it, and Hotline's services stopped and started during a call.

Functions over a `Line` (harness.py) rather than methods on it, so that the tier's test
files can grow side by side without editing one class.
"""

from __future__ import annotations

import asyncio
import re
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tests.asterisk.ami import Frame
from tests.asterisk.components import Component, answers_http
from tests.asterisk.harness import Caller, Line

if TYPE_CHECKING:
    from tests.asterisk.conftest import Services

SL_THRESHOLD_S = 40  # queues.conf servicelevel (HOTLINE_SL_THRESHOLD_S's default)


def ended(call: dict[str, Any]) -> bool:
    return call["ended_at"] is not None and call["outcome"] != "in_progress"


def heard_uin(line: Line, caller: Caller) -> str:
    """The digits the AGI route had Asterisk say to the caller (every `SAY DIGITS` on their
    channel, in order): the UIN's short form, said in groups."""
    said = []
    for frame in line.ami.events("AGIExecStart", Channel=caller.channel):
        match = re.fullmatch(r'SAY DIGITS "?(\d+)"?.*', frame.get("Command"))
        if match:
            said.append(match.group(1))
    return "".join(said)


async def queue_params(line: Line, queue: str = "hotline") -> Frame:
    """Asterisk's own figures for `queue` (`QueueStatus` -> `QueueParams`)."""
    action_id = await line.ami.send("QueueStatus", Queue=queue)
    return await line.ami.wait_for(
        lambda f: f.event == "QueueParams" and f.get("ActionID") == action_id, timeout_s=10
    )


async def press(line: Line, caller: Caller, digits: str) -> None:
    """The caller presses `digits` on the handset: DTMF sent out of the `;1` half reaches
    the `;2` half, which runs the dialplan, as a phone's keys reach the trunk."""
    for digit in digits:
        reply = await line.ami.action(
            "PlayDTMF", Channel=caller.handset, Digit=digit, Duration="120"
        )
        if reply.get("Response") != "Success":
            raise RuntimeError(f"PlayDTMF failed: {reply.headers}")
        await asyncio.sleep(0.2)


async def agi_command(line: Line, caller: Caller, *words: str, timeout_s: float = 60) -> Frame:
    """The AGI command the caller's channel runs whose text has every one of `words`."""
    return await line.ami.wait_for(
        lambda f: (
            f.event == "AGIExecStart"
            and f.get("Channel") == caller.channel
            and all(word in f.get("Command", "") for word in words)
        ),
        timeout_s=timeout_s,
    )


async def hung_up(line: Line, caller: Caller, timeout_s: float = 60) -> Frame:
    """The `Hangup` of the caller's `;2` half (the end of the call for Asterisk)."""
    return await line.ami.wait_for(
        lambda f: f.event == "Hangup" and f.get("Channel") == caller.channel, timeout_s=timeout_s
    )


@dataclass
class QueueVisit:
    """One caller's time in a queue as Asterisk told it."""

    outcome: str  # "answered" or "abandoned"
    hold_time_s: int  # AgentConnect's or QueueCallerAbandon's HoldTime
    member: str = ""


def visit(line: Line, caller: Caller, queue: str = "hotline") -> QueueVisit | None:
    """The caller's (first) answer or abandon in `queue`, from the frames received."""
    for frame in line.ami.frames:
        if frame.get("Linkedid") != caller.linkedid or frame.get("Queue") != queue:
            continue
        if frame.event == "AgentConnect":
            return QueueVisit("answered", int(frame["HoldTime"]), frame.get("MemberName"))
        if frame.event == "QueueCallerAbandon":
            return QueueVisit("abandoned", int(frame["HoldTime"]))
    return None


async def crm_calls(
    line: Line, callers: list[Caller], timeout_s: float = 60
) -> dict[str, dict[str, Any]]:
    """The CRM's record of each caller's call, once every one of them has ended."""
    deadline = time.monotonic() + timeout_s
    calls: dict[str, dict[str, Any]] = {}
    for caller in callers:
        left = max(deadline - time.monotonic(), 1.0)
        calls[caller.linkedid] = await line.crm_call(caller, ended, timeout_s=left)
    return calls


async def ticket(line: Line, uin: str) -> dict[str, Any] | None:
    reply = await line.crm.get(f"/api/tickets/{uin}")
    return reply.json() if reply.status_code == 200 else None


READY_LINE = {"agi": "FastAGI listening", "tracker": "AMI resync"}


def component(services: Services, name: str) -> Component:
    return next(c for c in services.components if c.name == name)


def start_again(services: Services, name: str, timeout_s: float = 60) -> Component:
    """Start the (stopped or killed) service `name` again and wait until it serves; it
    replaces the old one in `services`, so the fixture stops it at the end."""
    old = component(services, name)
    marker = READY_LINE.get(name, "")
    seen = old.log.read_text(errors="replace").count(marker) if marker else 0
    new = old.again()
    services.components[services.components.index(old)] = new
    if name == "crm":
        new.wait_until(answers_http(f"{services.crm_url}/api/health"), timeout_s, "health")
    else:
        new.wait_until(
            lambda: new.log.read_text(errors="replace").count(marker) > seen, timeout_s, marker
        )
    return new
