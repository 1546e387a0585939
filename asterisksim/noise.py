"""Events a real Asterisk sends around every call that no Hotline component needs.

NewConnectedLine, LocalBridge, DeviceStateChange, MusicOnHoldStart/Stop, BridgeCreate/Destroy
and (Soft)HangupRequest: modelled so that a client sees the volume and mix of a real
Asterisk (01: about 55 events per queued call with `EventMask: call,agent`), and learns to
ignore them. Their positions follow the transcripts roughly, not exactly (tolerated).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from asterisksim.frames import CLASSES

if TYPE_CHECKING:
    from asterisksim.channels import Channel
    from asterisksim.pbx import PBX
    from asterisksim.queues import Queue

CALL = CLASSES["call"]


def device_of(chan: Channel) -> str:
    """`Local/agent1@agents-00000001;1` -> `Local/agent1@agents` (the device it counts on)."""
    return chan.name.rsplit("-", 1)[0]


class ChannelNoise:
    """Mixed into PBX."""

    def device_state(self: PBX, device: str, state: str) -> None:
        self.emit(CALL, "DeviceStateChange", f"Device: {device}\r\nState: {state}\r\n")

    def local_bridge(self: PBX, one: Channel, two: Channel, optimized: bool) -> None:
        self.emit(
            CALL,
            "LocalBridge",
            self.blk(one, "LocalOne") + self.blk(two, "LocalTwo") + f"Context: {two.context}\r\n"
            f"Exten: {two.exten}\r\nLocalOptimization: {'Yes' if optimized else 'No'}\r\n",
        )

    def music_on_hold(self: PBX, chan: Channel, start: bool) -> None:
        if start:
            self.emit(CALL, "MusicOnHoldStart", self.blk(chan) + "Class: default\r\n")
        else:
            self.emit(CALL, "MusicOnHoldStop", self.blk(chan))

    def hangup_requests(self: PBX, chan: Channel, cause: int) -> None:
        """The (Soft)HangupRequest events before `chan`'s Hangup, as a Local pair ends (01-08).

        The half that goes first is asked softly (SoftHangupRequest), or, for an agent-side
        `;1` kicked out of its bridge, not at all; its peer gets a HangupRequest at once. A
        half whose peer went first is then asked softly again if it runs a dialplan (every
        `;2`, and the caller's handset `;1`), or just hangs up (an agent-side `;1`).
        """
        runs_dialplan = chan.name.endswith(";2") or chan.name.startswith(
            f"Local/{self.config.entry_exten}@{self.config.entry_context}-"
        )
        peer = chan.peer
        if peer is None or not peer.hung_up:  # this half goes first
            if runs_dialplan:
                self.emit(CALL, "SoftHangupRequest", self.blk(chan) + "Cause: 16\r\n")
            if peer is not None:
                self.emit(CALL, "HangupRequest", self.blk(peer) + f"Cause: {cause}\r\n")
        elif runs_dialplan:
            self.emit(CALL, "SoftHangupRequest", self.blk(chan) + "Cause: 16\r\n")

    def queue_states(self: PBX, queue: Queue) -> None:
        """`Queue:NAME` (callers waiting?) and `Queue:NAME_avail` (a member free?), on change."""
        now = self.clock.now()
        ringing = "RINGING" if queue.entries else "NOT_INUSE"
        free = any(m.available(now, m.interface in self.busy) for m in queue.members.values())
        avail = "NOT_INUSE" if free else "INUSE"
        for device, state in (
            (f"Queue:{queue.name}", ringing),
            (f"Queue:{queue.name}_avail", avail),
        ):
            if self.device_states.get(device) != state:
                self.device_states[device] = state
                self.device_state(device, state)
