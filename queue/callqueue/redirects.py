"""Spotting transfers made with AMI `Redirect`, which Asterisk reports with no event of
their own: the caller's channel leaves the agent's bridge while the queue call is still
up, then shows up in another dialplan place (or a new queue) on the same Linkedid."""

from __future__ import annotations

from dataclasses import dataclass

from callqueue.calls import QueueEntry
from core.ami.parser import AmiMessage


@dataclass(frozen=True)
class SuspectedRedirect:
    entry: QueueEntry
    context: str
    exten: str
    at: float
    from_agent: str


@dataclass(frozen=True)
class _Armed:
    entry: QueueEntry
    location: tuple[str, str]  # where the channel was while talking
    from_agent: str


class RedirectWatch:
    """Caller channels that left their agent; a move elsewhere makes a suspect, which is
    confirmed once the queue call ends or the channel acts from its new place. A
    BlindTransfer event that follows the move (Asterisk may send it after the channel's
    BridgeLeave) clears the suspicion instead."""

    def __init__(self) -> None:
        self._armed: dict[str, _Armed] = {}
        self._suspects: dict[str, SuspectedRedirect] = {}

    def __bool__(self) -> bool:
        return bool(self._armed or self._suspects)

    def arm(
        self,
        channel: str,
        entry: QueueEntry,
        location: tuple[str, str] | None = None,
        from_agent: str | None = None,
    ) -> None:
        """Watch `channel`: it left `entry`'s agent (or, with `location`, a transfer target
        it talked to from there) while the other side was still on."""
        self._armed[channel] = _Armed(
            entry,
            entry.connect_location if location is None else location,
            entry.agent if from_agent is None else from_agent,
        )

    def observe(self, message: AmiMessage, at: float) -> None:
        channel = message.get("Channel")
        armed = self._armed.get(channel)
        if armed is None:
            return
        context, exten = message.get("Context"), message.get("Exten")
        if context and (context, exten) != armed.location:
            del self._armed[channel]
            self._suspects[channel] = SuspectedRedirect(
                armed.entry, context, exten, at, armed.from_agent
            )

    def confirm(self, channel: str) -> SuspectedRedirect | None:
        return self._suspects.pop(channel, None)

    def confirm_entry(self, entry: QueueEntry) -> list[SuspectedRedirect]:
        """The queue call of `entry` ended with no transfer event: its suspects stand."""
        channels = [ch for ch, s in self._suspects.items() if s.entry is entry]
        return [self._suspects.pop(channel) for channel in channels]

    def forget_channel(self, channel: str) -> None:
        self._armed.pop(channel, None)
        self._suspects.pop(channel, None)

    def forget_call(self, linkedid: str) -> None:
        """A transfer event explained the move."""
        for channel in [ch for ch, a in self._armed.items() if a.entry.linkedid == linkedid]:
            del self._armed[channel]
        for channel in [ch for ch, s in self._suspects.items() if s.entry.linkedid == linkedid]:
            del self._suspects[channel]
