"""Request and response bodies of the agent's queue membership and pause."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, StringConstraints, model_validator

from core.text import PlainTextModel

# A queue's name as queues.conf allows it here: nothing that could break an AMI header.
QueueName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.-]{1,80}$")]
# A pause reason is one header value: one line, at most 80 characters.
PauseReason = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=80, pattern=r"^[^\r\n]*$"),
]


class QueueMembership(PlainTextModel):
    """Log in to (`joined: true`) or out of (`false`) the queues (default: the hotline's)."""

    model_config = ConfigDict(extra="forbid")
    joined: bool
    queues: list[QueueName] | None = None


class PauseRequest(PlainTextModel):
    """Pause with a reason (`paused: true`) or come back (`false`), in every queue."""

    model_config = ConfigDict(extra="forbid")
    paused: bool
    reason: PauseReason | None = None

    @model_validator(mode="after")
    def _reason_when_paused(self) -> PauseRequest:
        if self.paused and not self.reason:
            raise ValueError("a pause needs a reason (break, lunch, training, ...)")
        return self


class MemberPublic(BaseModel):
    """One queue the agent is logged in to, as Asterisk's `QueueStatus` tells it."""

    queue: str
    interface: str
    paused: bool
    reason: str
    paused_since: datetime | None
    logged_in_since: datetime | None
    calls_taken: int
    in_call: bool


class AgentQueueState(BaseModel):
    """The agent's queues; `paused` when paused in every one of them."""

    agent: str
    logged_in: bool
    paused: bool
    reason: str
    members: list[MemberPublic]
    pause_reasons: list[str]
    # The last screen pop sent to the agent (kept 4 h): a desk opened, reloaded or
    # reconnected after it shows that call without waiting for the next pop.
    last_pop: dict[str, Any] | None = None
