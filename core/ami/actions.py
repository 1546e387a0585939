"""The AMI actions the CRM sends (transfers, queue membership), one small named function each."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from core.ami.channels import agent_of, local_half
from core.ami.manager import AmiError

SendAction = Callable[..., Awaitable[Any]]


def _ok(reply: Any) -> None:
    replies = reply if isinstance(reply, list) else [reply]
    first = replies[0] if replies else None
    if first is None or str(first.get("Response", "")).lower() != "success":
        message = first.get("Message", "no answer") if first is not None else "no answer"
        raise AmiError(f"Asterisk refused the action: {message}")


async def call_channels(send: SendAction, linkedid: str) -> list[str]:
    """The channels of the call, from `CoreShowChannels`."""
    reply = await send({"Action": "CoreShowChannels"}, as_list=True)
    return [
        str(message.get("Channel", ""))
        for message in (reply if isinstance(reply, list) else [reply])
        if message.get("Event") == "CoreShowChannel" and message.get("Linkedid") == linkedid
    ]


def agent_channel_of(channels: list[str], agent: str) -> str | None:
    """The agent's own channel (`Local/<agent>@agents-...;1`, `PJSIP/<agent>-...`)."""
    for channel in channels:
        if agent_of(channel) == agent and local_half(channel) != 2:
            return channel
    return None


def caller_channels_of(channels: list[str]) -> list[str]:
    """The caller's channels: those not facing an agent (`@agents`)."""
    return [c for c in channels if "@agents-" not in c]


async def set_inherited(send: SendAction, channel: str, name: str, value: str) -> None:
    """`__NAME`: inherited by the channels the caller's channel dials next (whisper)."""
    _ok(await send(_action("Setvar", Channel=channel, Variable=f"__{name}", Value=value)))


def _action(name: str, **headers: str) -> Mapping[str, str]:
    return {"Action": name, **headers}


async def blind_transfer(send: SendAction, channel: str, context: str, exten: str) -> None:
    _ok(await send(_action("BlindTransfer", Channel=channel, Context=context, Exten=exten)))


async def attended_transfer(send: SendAction, channel: str, context: str, exten: str) -> None:
    """`Atxfer` queues the feature code and then the extension as DTMF on `channel`; on a
    real Asterisk 22 the transfer prompt (`pbx-transfer`) eats all but the first digit
    ("Dialed '2@hotline-targets' does not exist"). `TRANSFER_EXTEN` on the channel is the
    extension Asterisk takes instead of collecting digits (bridge_basic.c,
    `grab_transfer`), so it is set first."""
    _ok(await send(_action("Setvar", Channel=channel, Variable="TRANSFER_EXTEN", Value=exten)))
    _ok(await send(_action("Atxfer", Channel=channel, Context=context, Exten=exten)))


async def cancel_attended_transfer(send: SendAction, channel: str) -> None:
    _ok(await send(_action("CancelAtxfer", Channel=channel)))
    # The agent keeps the caller: a later transfer from their phone asks for its digits.
    _ok(await send(_action("Setvar", Channel=channel, Variable="TRANSFER_EXTEN", Value="")))


# -- queue membership (the agent desk; the phone codes of agi/agent_routes.py send the same)


def refusal_of(reply: Any) -> str | None:
    """Asterisk's `Message` when it refused the action, None when it succeeded."""
    replies = reply if isinstance(reply, list) else [reply]
    first = replies[0] if replies else None
    if first is None:
        return "no answer"
    if str(first.get("Response", "")).lower() == "success":
        return None
    return str(first.get("Message", "") or "refused without a message")


async def queue_add(send: SendAction, queue: str, interface: str, member: str) -> str | None:
    """`QueueAdd`; Asterisk's refusal (e.g. "Unable to add interface: Already there")."""
    return refusal_of(
        await send(_action("QueueAdd", Queue=queue, Interface=interface, MemberName=member))
    )


async def queue_remove(send: SendAction, queue: str, interface: str) -> str | None:
    return refusal_of(await send(_action("QueueRemove", Queue=queue, Interface=interface)))


async def queue_pause(
    send: SendAction, interface: str, paused: bool, reason: str = ""
) -> str | None:
    """`QueuePause` without `Queue`: in every queue the interface is in, as `*73N` does."""
    headers = {"Interface": interface, "Paused": "true" if paused else "false"}
    if paused and reason:
        headers["Reason"] = reason
    return refusal_of(await send(_action("QueuePause", **headers)))


async def queue_members(send: SendAction, member: str) -> list[Mapping[str, Any]]:
    """The `QueueMember` entries of `QueueStatus` whose member name is `member`."""
    reply = await send(_action("QueueStatus", Member=member), as_list=True)
    return [
        message
        for message in (reply if isinstance(reply, list) else [reply])
        if message.get("Event") == "QueueMember"
        and (message.get("Name") or message.get("MemberName")) == member
    ]
