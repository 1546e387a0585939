"""The test's hands on the line: agents' phones, callers, hang-ups, and the CRM's record.

Callers are `Originate(Local/NUMBER@hotline-in)`: the `;2` half runs the project's
`[hotline-in]`, the `;1` half is the caller's handset (`[harness-callers]`); hanging up the
`;1` half is the caller hanging up. Agents are dynamic queue members
`Local/agentNN@harness-agents/n` whose answer delay and talk time sit in AstDB.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from tests.asterisk.ami import Frame, HarnessAmi

CALL_TIMEOUT_S = 120.0  # the IVR before the queue alone takes ~25 s on a loaded machine


@dataclass
class Caller:
    linkedid: str
    handset: str  # the ;1 half: hang it up and the caller hangs up
    number: str

    @property
    def channel(self) -> str:
        """The ;2 half, which runs [hotline-in]: the caller as Asterisk's queue sees them."""
        return self.handset.removesuffix(";1") + ";2"


class Line:
    def __init__(self, ami: HarnessAmi, crm: httpx.AsyncClient, number: str) -> None:
        self.ami = ami
        self.crm = crm
        self.number = number
        self._members: list[tuple[str, str]] = []

    async def add_agent(
        self,
        name: str,
        *,
        answer_s: float,
        talk_s: float | None = None,
        queue: str = "hotline",
        member_name: str | None = None,
    ) -> None:
        """Log an agent into `queue`: their phone answers `answer_s` after it rings.
        `member_name`: app_queue's `MemberName` (the agent's name everywhere), if not `name`."""
        await self._ok("DBPut", Family=f"harness/{name}", Key="answer_s", Val=str(answer_s))
        if talk_s is None:
            await self.ami.action("DBDel", Family=f"harness/{name}", Key="talk_s")
        else:
            await self._ok("DBPut", Family=f"harness/{name}", Key="talk_s", Val=str(talk_s))
        interface = f"Local/{name}@harness-agents/n"
        await self._ok("QueueAdd", Queue=queue, Interface=interface, MemberName=member_name or name)
        self._members.append((queue, interface))

    async def call(self, number: str, name: str) -> Caller:
        """A caller dials the hotline; returns once Asterisk has answered them."""
        action_id = await self.ami.send(
            "Originate",
            Channel=f"Local/{self.number}@hotline-in",
            Context="harness-callers",
            Exten="handset",
            Priority="1",
            Async="true",
            CallerID=f'"{name}" <{number}>',
        )
        answered = await self.ami.wait_for(
            lambda f: f.event == "OriginateResponse" and f.get("ActionID") == action_id,
            timeout_s=30,
        )
        if answered.get("Response") != "Success":
            raise RuntimeError(f"Originate failed: {answered.headers}")
        handset = answered["Channel"]
        created = await self.ami.wait_for(
            lambda f: f.event == "Newchannel" and f.get("Channel") == handset, timeout_s=5
        )
        return Caller(linkedid=created["Linkedid"], handset=handset, number=number)

    async def hang_up(self, caller: Caller) -> None:
        await self._ok("Hangup", Channel=caller.handset)

    async def event(
        self, name: str, caller: Caller, timeout_s: float = CALL_TIMEOUT_S, **headers: str
    ) -> Frame:
        """The first `name` event of the caller's call (by Linkedid)."""
        return await self.ami.wait_for(
            lambda f: (
                f.event == name
                and f.get("Linkedid") == caller.linkedid
                and all(f.get(k) == v for k, v in headers.items())
            ),
            timeout_s=timeout_s,
        )

    async def agent_complete(
        self, caller: Caller, member: str, queue: str = "hotline", timeout_s: float = 30.0
    ) -> Frame:
        """The end of the caller's talk with `member`. Asterisk sends some AgentComplete
        events without the caller's channel headers (no Linkedid): then queue and member
        tell whose it is (one call at a time per member, ringinuse=no)."""
        return await self.ami.wait_for(
            lambda f: (
                f.event == "AgentComplete"
                and f.get("Linkedid", caller.linkedid) == caller.linkedid
                and f.get("Queue") == queue
                and f.get("MemberName") == member
            ),
            timeout_s=timeout_s,
        )

    async def crm_call(
        self, caller: Caller, until: Callable[[dict[str, Any]], bool], timeout_s: float = 30.0
    ) -> dict[str, Any]:
        """The CRM's record of the call, once `until` holds for it."""
        deadline = time.monotonic() + timeout_s
        last: dict[str, Any] | None = None
        while time.monotonic() < deadline:
            reply = await self.crm.get(f"/api/calls/{caller.linkedid}")
            if reply.status_code == 200:
                last = reply.json()
                if until(last):
                    return last
            await asyncio.sleep(0.25)  # the recorder writes in batches: look again
        raise TimeoutError(f"the CRM's call {caller.linkedid} never got there; last: {last}")

    async def clear(self) -> None:
        """Hang up whatever the test left, log its agents out, reset the queues' counters."""
        await self.ami.action("Hangup", Channel="/^Local\\//")
        for queue, interface in self._members:
            await self.ami.action("QueueRemove", Queue=queue, Interface=interface)
        self._members.clear()
        for queue in ("hotline", "support"):
            await self.ami.action("QueueReset", Queue=queue)

    async def _ok(self, action: str, **headers: str) -> Frame:
        reply = await self.ami.action(action, **headers)
        if reply.get("Response") != "Success":
            raise RuntimeError(f"{action} failed: {reply.headers}")
        return reply
