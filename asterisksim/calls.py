"""One caller's call and the agent legs it rings, as the PBX model tracks them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from asterisksim.channels import Channel
from asterisksim.truth import CallTruth

if TYPE_CHECKING:
    from asterisksim.clock import Timer
    from asterisksim.queues import Entry, Member


@dataclass(eq=False)
class Leg:
    """An outbound Local pair the caller's ;2 dials: a queue member or a transfer target."""

    agent: str
    one: Channel  # faces the caller (bridged with it)
    two: Channel  # runs the agent's dialplan
    ring_start_s: float
    member: Member | None = None
    queue: str = ""
    answered_s: float | None = None
    timer: Timer | None = None
    hold_s: int = 0
    in_sl: bool = False


@dataclass(eq=False)
class Call:
    """A caller: handset half `one` (;1) and dialplan half `two` (;2, runs Queue())."""

    one: Channel
    two: Channel
    truth: CallTruth
    use_agi: bool = False
    patience_s: float | None = None
    dtmf: str = ""
    state: str = "dialplan"  # dialplan, agi, queued, bridged, ivr, gone
    agi_tries: int = 1  # the entry AGI's tries so far (config.agi_tries)
    entry: Entry | None = None
    leg: Leg | None = None  # the leg bridged with the caller
    bridge_id: str = ""
    patience_timer: Timer | None = None
    consult: Leg | None = None  # Atxfer consultation target
    action_id: str = ""
    talk_s: float | None = None  # handling time of this call, if the scenario fixes it
    via: tuple[Channel, Channel] | None = None  # Local/201@transfer-targets pair after Atxfer
    via_bridge: str = ""  # the bridge of the Atxfer target and its Local pair
    target_bridge: str = ""
    atxfer_to: tuple[str, str] = ("", "")  # context, exten of the pending Atxfer
    extra_waiter: object | None = None
    # Queue calls a Redirect took the caller out of: app_queue closes them (AgentComplete)
    # when the caller's channel ends.
    redirected: list[Leg] = field(default_factory=list)
