"""Shapes of the supervisor's history (`GET /api/metrics/service-level`), for OpenAPI.

The route writes its JSON itself (streamed, `crm.supervisor.history.history_json`); these
models say what it writes. The figures are `core.service_level.QueueFigures.as_dict()`'s.
"""

from __future__ import annotations

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
