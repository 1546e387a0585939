"""Request and response bodies of the transfer API."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from crm.validation import validate_inn


class ContextFields(BaseModel):
    """The memo's context of a call: what the next specialist must be told."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    summary: str = Field(min_length=1, max_length=2000)
    caller_full_name: str = Field(min_length=1, max_length=200)
    org_inn: str

    @field_validator("org_inn")
    @classmethod
    def _inn(cls, value: str) -> str:
        return validate_inn(value)


class CallContextPublic(BaseModel):
    linkedid: str
    uin: str = ""
    ticket_id: str = ""
    caller_full_name: str = ""
    org_inn: str = ""
    summary: str = ""
    agent: str = ""
    count: int = 0
    remaining: int = 0
    refused: int = 0  # tries turned down at the limit
    chain: list[dict[str, Any]] = []


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
