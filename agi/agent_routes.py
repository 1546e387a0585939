"""Agent feature codes: log in to, log out of, and pause in the queues, through AMI."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from agi import commands
from agi.server import AgiRequest
from core.agent_pause import PAUSE_REASONS
from core.ami.channels import interface_of
from ivr.catalogue import prompt_file

log = logging.getLogger(__name__)
AGENT_PROMPTS = (
    "agent-logged-in",
    "agent-logged-out",
    "agent-paused",
    "agent-unpaused",
    "agent-failed",
)

SendAction = Callable[[Mapping[str, Any]], Awaitable[Any]]


class AgentRoutes:
    """`agent-login`, `agent-logout`, `agent-pause` (`?queues=hotline,support`, arg: code)."""

    def __init__(
        self, send_action: SendAction, default_queues: tuple[str, ...] = ("hotline",)
    ) -> None:
        self._send = send_action
        self._queues = default_queues

    def _targets(self, request: AgiRequest) -> tuple[str, list[str]]:
        queues = [q for q in request.query.get("queues", "").split(",") if q] or list(self._queues)
        return interface_of(request.env.get("agi_channel", "")), queues

    async def _run(self, request: AgiRequest, actions: list[dict[str, str]], done: str) -> None:
        ok = True
        for action in actions:
            try:
                reply = await self._send(action)
            except Exception as exc:  # AMI down or refused: the agent hears it failed
                log.warning("agent feature %s failed: %s", action["Action"], exc)
                ok = False
                continue
            if getattr(reply, "success", True) is False:
                message = reply.get("Message") if hasattr(reply, "get") else reply
                log.warning("agent feature %s refused: %s", action["Action"], message)
                ok = False
        await request.send_command(
            commands.stream_file(prompt_file(done if ok else "agent-failed"))
        )

    async def login(self, request: AgiRequest) -> None:
        device, queues = self._targets(request)
        name = request.env.get("agi_calleridname", "") or device
        await self._run(
            request,
            [
                {"Action": "QueueAdd", "Queue": q, "Interface": device, "MemberName": name}
                for q in queues
            ],
            "agent-logged-in",
        )

    async def logout(self, request: AgiRequest) -> None:
        device, queues = self._targets(request)
        await self._run(
            request,
            [{"Action": "QueueRemove", "Queue": q, "Interface": device} for q in queues],
            "agent-logged-out",
        )

    async def pause(self, request: AgiRequest) -> None:
        """Pause with the reason of code `agi_arg_1`; code 0 (or none) un-pauses."""
        device, _queues = self._targets(request)  # QueuePause without Queue: all of them
        code = request.args[0] if request.args else ""
        if code in ("", "0"):
            await self._run(
                request,
                [{"Action": "QueuePause", "Interface": device, "Paused": "false"}],
                "agent-unpaused",
            )
            return
        reason = PAUSE_REASONS.get(code, f"code {code}")
        await self._run(
            request,
            [{"Action": "QueuePause", "Interface": device, "Paused": "true", "Reason": reason}],
            "agent-paused",
        )
