"""Queues and members of the simulated PBX, with app_queue's own counters."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from asterisksim.calls import Call, Leg

STRATEGIES = ("fewestcalls", "ringall", "rrmemory")


@dataclass
class QueueConfig:
    """A queues.conf section (only what the model uses)."""

    name: str
    strategy: str = "fewestcalls"
    servicelevel_s: int = 40
    timeout_s: float = 15.0
    retry_s: float = 1.0
    wrapuptime_s: float = 0.0
    ringinuse: bool = False
    autofill: bool = True

    def __post_init__(self) -> None:
        if self.strategy not in STRATEGIES:
            raise ValueError(f"queue {self.name}: unsupported strategy {self.strategy!r}")


@dataclass(eq=False)
class Member:
    """A dynamic queue member (`Local/agentN@agents/n`)."""

    queue: str
    interface: str
    name: str
    penalty: int = 0
    paused: bool = False
    paused_reason: str = ""
    last_pause: int = 0
    login_time: int = 0
    calls_taken: int = 0
    last_call: int = 0
    in_call: bool = False
    ringing: bool = False
    wrapup_until_s: float = 0.0
    ringinuse: bool = False
    wrapuptime_s: float = 0.0

    @property
    def status(self) -> int:
        # 1 = AST_DEVICE_NOT_INUSE, 2 = INUSE (Local members never report 6, README).
        return 2 if self.in_call else 1

    def available(self, now_s: float, busy_elsewhere: bool) -> bool:
        if self.paused or self.ringing or now_s < self.wrapup_until_s:
            return False
        return self.ringinuse or not (self.in_call or busy_elsewhere)

    def body(self, ringinuse_header: bool = True) -> str:
        text = (
            f"Queue: {self.queue}\r\nMemberName: {self.name}\r\nInterface: {self.interface}\r\n"
            f"StateInterface: {self.interface}\r\nMembership: dynamic\r\n"
            f"Penalty: {self.penalty}\r\nCallsTaken: {self.calls_taken}\r\n"
            f"LastCall: {self.last_call}\r\nLastPause: {self.last_pause}\r\n"
            f"LoginTime: {self.login_time}\r\nInCall: {int(self.in_call)}\r\n"
            f"Status: {self.status}\r\nPaused: {int(self.paused)}\r\n"
            f"PausedReason: {self.paused_reason}\r\n"
        )
        if ringinuse_header:
            text += f"Ringinuse: {int(self.ringinuse)}\r\n"
        return text + f"Wrapuptime: {int(self.wrapuptime_s)}\r\n"


@dataclass(eq=False)
class Entry:
    """A caller waiting in a queue."""

    call: Call
    queue: Queue
    join_s: float
    original_position: int
    legs: list[Leg] = field(default_factory=list)
    poll_timer: object | None = None


@dataclass(eq=False)
class Queue:
    """A queue: config, members, waiting callers, and app_queue's counters."""

    config: QueueConfig
    members: dict[str, Member] = field(default_factory=dict)
    entries: list[Entry] = field(default_factory=list)
    holdtime_s: int = 0
    talktime_s: int = 0
    completed: int = 0
    abandoned: int = 0
    completed_in_sl: int = 0
    abandoned_in_sl: int = 0
    rr_next: int = 0

    @property
    def name(self) -> str:
        return self.config.name

    def reset_stats(self) -> None:
        self.holdtime_s = self.talktime_s = 0
        self.completed = self.abandoned = self.completed_in_sl = self.abandoned_in_sl = 0

    # app_queue keeps exponential averages with a 1/4 weight on the newest value.
    def record_connect(self, hold_s: int) -> None:
        if self.completed + self.abandoned == 0:
            self.holdtime_s = hold_s
        else:
            self.holdtime_s = ((self.holdtime_s << 2) - self.holdtime_s + hold_s) >> 2

    def record_complete(self, talk_s: int, in_sl: bool) -> None:
        self.completed += 1
        if in_sl:
            self.completed_in_sl += 1
        if self.completed == 1:
            self.talktime_s = talk_s
        else:
            self.talktime_s = ((self.talktime_s << 2) - self.talktime_s + talk_s) >> 2

    def record_abandon(self, hold_s: int) -> None:
        self.abandoned += 1
        if hold_s <= self.config.servicelevel_s:
            self.abandoned_in_sl += 1

    @property
    def sl_perf(self) -> float:
        return 100.0 * self.completed_in_sl / self.completed if self.completed else 0.0

    @property
    def sl_perf2(self) -> float:
        total = self.completed + self.abandoned
        return 100.0 * (self.completed_in_sl + self.abandoned_in_sl) / total if total else 0.0

    def params_body(self) -> str:
        c = self.config
        return (
            f"Queue: {c.name}\r\nMax: 0\r\nStrategy: {c.strategy}\r\nCalls: {len(self.entries)}\r\n"
            f"Holdtime: {self.holdtime_s}\r\nTalkTime: {self.talktime_s}\r\n"
            f"Completed: {self.completed}\r\nAbandoned: {self.abandoned}\r\n"
            f"ServiceLevel: {c.servicelevel_s}\r\nServicelevelPerf: {self.sl_perf:.1f}\r\n"
            f"ServicelevelPerf2: {self.sl_perf2:.1f}\r\nWeight: 0\r\n"
        )

    def position(self, entry: Entry) -> int:
        return self.entries.index(entry) + 1

    def pick_members(self, now_s: float, busy: set[str]) -> list[Member]:
        """Members to ring for one caller, in the queue's strategy."""
        free = [m for m in self.members.values() if m.available(now_s, m.interface in busy)]
        if not free:
            return []
        strategy = self.config.strategy
        if strategy == "ringall":
            return free
        if strategy == "fewestcalls":
            # app_queue prepends each candidate to its list and takes the first lowest
            # metric: on a tie the member added last wins (08: agent3, then agent2, agent1).
            return [min(reversed(free), key=lambda m: m.calls_taken)]
        order = list(self.members.values())
        n = len(order)
        for step in range(n):
            member = order[(self.rr_next + step) % n]
            if member in free:
                self.rr_next = (order.index(member) + 1) % n
                return [member]
        return []
