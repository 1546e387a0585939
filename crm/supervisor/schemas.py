"""Shapes of the supervisor's history (`GET /api/metrics/service-level`), for OpenAPI.

The route writes its JSON itself (streamed, `crm.supervisor.history.history_json`); these
models say what it writes. The figures are `core.service_level.QueueFigures.as_dict()`'s.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class Buckets(BaseModel):
    """Answered calls by wait, 15 s wide: `0-15` ... `105-120`, then `120+`."""

    b0_15: int = Field(alias="0-15")
    b15_30: int = Field(alias="15-30")
    b30_45: int = Field(alias="30-45")
    b45_60: int = Field(alias="45-60")
    b60_75: int = Field(alias="60-75")
    b75_90: int = Field(alias="75-90")
    b90_105: int = Field(alias="90-105")
    b105_120: int = Field(alias="105-120")
    b120_more: int = Field(alias="120+")


class QueueFiguresPublic(BaseModel):
    threshold_s: int
    short_abandon_s: int
    offered: int
    answered: int
    completed: int
    answered_within: int = Field(description="float wait <= T")
    answered_within_whole_s: int = Field(description="HoldTime <= T (app_queue's rule)")
    abandoned: int
    abandoned_short: int = Field(description="abandoned within S seconds")
    abandoned_within_whole_s: int
    waiting: int
    sl: float | None = Field(description="answered within T / (answered + abandoned after S), %")
    perf: float = Field(description="Asterisk's ServicelevelPerf, %")
    perf2: float = Field(description="Asterisk's ServicelevelPerf2, %")
    asa_s: float | None = Field(description="average speed of answer")
    abandon_rate: float | None
    longest_wait_s: float
    answered_within_buckets: Buckets


class HistoryInterval(BaseModel):
    start: str = Field(description="ISO time in HOTLINE_TIMEZONE")
    end: str
    queues: dict[str, QueueFiguresPublic] = Field(description="per queue, and `all`")


class ServiceLevelHistory(BaseModel):
    interval: str
    from_: str = Field(alias="from")
    to: str
    threshold_s: int
    short_abandon_s: int
    queues: list[str]
    total: dict[str, QueueFiguresPublic]
    series: list[HistoryInterval]


# -- the live wallboard (`GET /api/wallboard`, `crm.supervisor.wallboard`) ----------------

LiveWindow = Literal["today", "last_15m", "last_60m"]
# The tracker's agent states (`callqueue.agents.AgentStatus`); "" before the first one.
KnownAgentStatus = Literal["available", "ringing", "talking", "wrapup", "paused", "unavailable"]


class WaitingCaller(BaseModel):
    linkedid: str
    entry: int
    caller_num: str
    caller_name: str
    joined_at: float = Field(description="epoch seconds")
    position: int
    wait_s: float = Field(description="waited so far, at the board's `at`")


class LiveFigures(BaseModel):
    """A live window's figures (`core.service_level`, over the outcomes in the window)."""

    threshold_s: int
    offered: int
    answered: int
    answered_within: int
    abandoned: int
    abandoned_short: int
    sl: float | None = Field(description="answered within T / (answered + abandoned after S), %")
    perf: float
    perf2: float
    asa_s: float | None
    abandon_rate: float | None
    answered_within_buckets: Buckets


class LiveWindows(BaseModel):
    today: LiveFigures = Field(description="since midnight in HOTLINE_TIMEZONE")
    last_15m: LiveFigures
    last_60m: LiveFigures


class Alerts(BaseModel):
    sl_below_goal: list[LiveWindow] = Field(description="windows whose sl is under the goal")
    long_wait: bool = Field(description="a caller has waited more than T")


class WallboardAll(BaseModel):
    queue: str
    waiting_count: int
    longest_wait_s: float
    service_level: LiveWindows
    alerts: Alerts


class WallboardQueue(WallboardAll):
    waiting: list[WaitingCaller]


class WallboardAgent(BaseModel):
    name: str
    status: Literal[KnownAgentStatus, ""]
    since: float = Field(description="when the status began, epoch seconds")
    status_s: float | None = Field(description="how long in the status, at the board's `at`")
    paused: bool = Field(description="paused (also while finishing a call)")
    paused_reason: str
    paused_since: float | None
    linkedid: str = Field(description="the call it rings for or talks to")
    caller_num: str
    caller_name: str
    uin: str = Field(description="the call's UIN (from its context), if known")
    answered_today: int = Field(description="queue calls answered since midnight")
    calls_taken: int = Field(description="Asterisk's CallsTaken, which fewestcalls compares")
    queues: list[str]


class Wallboard(BaseModel):
    at: float
    tracker_seen_at: float | None
    tracker_alive: bool = Field(description="the tracker's heartbeat is recent")
    threshold_s: int
    short_abandon_s: int
    goal_pct: float
    wrapup_s: int
    next_change_at: float = Field(description="the next moment a figure changes by the clock")
    queues: list[WallboardQueue]
    all: WallboardAll
    agents: list[WallboardAgent]
