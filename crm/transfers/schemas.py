"""Request and response bodies of the transfer API."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from core.context.model import CallContext, ContextFields

__all__ = [
    "CallContextPublic",
    "ContextFields",
    "TransferAccepted",
    "TransferCreate",
    "TransferPublic",
]


class CallContextPublic(CallContext):
    """The call's context as the API answers it: which call, and how many transfers remain."""

    linkedid: str
    remaining: int = 0

    @classmethod
    def of(cls, linkedid: str, ctx: CallContext, limit: int) -> CallContextPublic:
        return cls(linkedid=linkedid, remaining=ctx.transfers_left(limit), **ctx.model_dump())


class TransferCreate(ContextFields):
    """A transfer asked for by the agent on the call (or a supervisor), with the context."""

    to: str = Field(min_length=1, max_length=80, description="an extension, agent or queue")
    mode: Literal["blind", "attended"]


class TransferAccepted(BaseModel):
    n: int
    remaining: int
    mode: str
    to: str
    counted: bool  # False for an attended transfer until it completes


class TransferPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    linkedid: str = ""
    n: int
    from_agent: str | None
    to: str
    mode: str
    how: str
    outcome: str
    context: dict[str, Any] | None
    context_missing: bool
    at: datetime
