"""Shapes of the agent report (`GET /api/reports/agents`)."""

from __future__ import annotations

from pydantic import BaseModel, Field


class AgentFiguresPublic(BaseModel):
    logged_in_s: float = Field(description="time in at least one queue (sessions' union)")
    sessions: int = Field(description="queue sessions (QueueMemberAdded...Removed) met")
    paused_s: float = Field(description="paused, within logged-in time")
    paused_by_reason: dict[str, float] = Field(description="paused seconds per PausedReason")
    offered: int = Field(description="times the agent's phone rang for a caller")
    answered: int
    missed: int = Field(description="rings not answered (AgentRingNoAnswer)")
    talk_s: float
    wrapup_s: float = Field(description="app_queue's wrap-up after each call, while logged in")
    transfers: int = Field(description="transfers the agent made")
    days_logged_in: int = Field(description="local days of the interval with a login")
    contacts_per_day: float | None = Field(description="answered / days_logged_in")
    occupancy: float | None = Field(
        description="busy / (logged in - paused + busy while paused), %; busy is talk and "
        "wrap-up within logged-in time"
    )


class AgentInterval(AgentFiguresPublic):
    start: str = Field(description="ISO time in HOTLINE_TIMEZONE")
    end: str


class AgentReportPublic(BaseModel):
    agent: str
    total: AgentFiguresPublic
    series: list[AgentInterval]


class AgentReports(BaseModel):
    interval: str
    from_: str = Field(alias="from")
    to: str
    timezone: str
    queue_wrapup_s: int = Field(description="HOTLINE_WRAPUP_S, the wrap-up counted per call")
    agents: list[AgentReportPublic]
