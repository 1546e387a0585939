"""Ground truth of every simulated call: what really happened, to check trackers against."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field


@dataclass
class TransferTruth:
    kind: str  # blind, attended, redirect
    from_agent: str
    to: str  # context/exten
    at_s: float


@dataclass
class QueueVisit:
    queue: str
    joined_at: float
    position: int
    answered_at: float | None = None
    abandoned_at: float | None = None
    agent: str | None = None
    hold_time_field: int | None = None
    wait_s: float | None = None


@dataclass
class CallTruth:
    linkedid: str
    caller_num: str
    caller_name: str
    channel: str
    started_at: float
    outcome: str = "in_progress"  # answered, abandoned, ivr_hangup, in_progress
    visits: list[QueueVisit] = field(default_factory=list)
    transfers: list[TransferTruth] = field(default_factory=list)
    # Softphone transfers the transfer context's AGI turned down (the caller did not move).
    refused_transfers: list[TransferTruth] = field(default_factory=list)
    agi_status: str | None = None
    ended_at: float | None = None
    variables: dict[str, str] = field(default_factory=dict)
    agi_commands: list[str] = field(default_factory=list)  # as received, in order

    @property
    def wait_s(self) -> float | None:
        """True wait of the first queue visit (join to answer, or to abandon)."""
        if not self.visits:
            return None
        return self.visits[0].wait_s

    @property
    def agent(self) -> str | None:
        return self.visits[0].agent if self.visits else None


def to_json(calls: list[CallTruth]) -> str:
    return json.dumps({"calls": [asdict(c) for c in calls]}, indent=1)
