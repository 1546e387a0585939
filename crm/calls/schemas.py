"""Shapes of the call log (`GET /api/calls`)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel


class QueueEntryPublic(BaseModel):
    entry: int
    queue: str
    position: int | None
    joined_at: datetime | None
    answered_at: datetime | None
    left_at: datetime | None
    wait_s: float | None
    wait_whole_s: int | None  # Asterisk's HoldTime
    agent: str | None
    outcome: str


class CallTransferPublic(BaseModel):
    n: int
    from_agent: str | None
    to: str
    mode: str
    how: str
    outcome: str
    at: datetime


class SurveyPublic(BaseModel):
    solved: bool | None
    score: int | None


class CallLogEntry(BaseModel):
    linkedid: str
    started_at: datetime | None
    answered_at: datetime | None
    ended_at: datetime | None
    caller_number: str | None
    caller_name: str | None
    uins: list[str]  # the UIN read to the caller first, then every ticket opened in the call
    queue: str | None
    queue_entries: list[QueueEntryPublic]
    agents: list[str]  # every agent the call reached, in order
    transfers: list[CallTransferPublic]
    transfer_count: int
    outcome: str
    wait_s: float | None
    talk_s: float | None
    hung_up_by: str | None
    survey: SurveyPublic | None


class CallLogPage(BaseModel):
    calls: list[CallLogEntry]
    next_cursor: str | None  # pass as `cursor` for the next (older) page; null at the end
