"""What the staffing planner answers: one load's figures, and a plan by interval."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel

from crm.staffing.erlang import Model

CSV_COLUMNS = (
    "date",
    "start",
    "end",
    "queue",
    "calls",
    "rate_per_hour",
    "aht_s",
    "patience_s",
    "model",
    "agents",
    "scheduled",
    "expected_sl",
    "expected_asa_s",
    "expected_abandon_rate",
)


class StaffingAnswer(BaseModel):
    """`hotline staffing --rate ... --json`: the agents for the target (or the ones given)
    and what they are expected to give. Percentages 0-100, seconds."""

    agents: int
    expected_sl: float
    expected_asa_s: float | None
    expected_abandon_rate: float
    model: Model
    scheduled: int | None = None  # agents / (1 - shrinkage), when a shrinkage is given
    shrinkage: float | None = None


class PlanInterval(BaseModel):
    start: str  # ISO, in HOTLINE_TIMEZONE
    end: str
    calls: float  # forecast: the mean of the same interval on the history days
    rate_per_hour: float
    agents: int  # on the phones
    scheduled: int  # on the rota, after shrinkage
    expected_sl: float | None  # None: no call expected
    expected_asa_s: float | None
    expected_abandon_rate: float | None


class PlanDay(BaseModel):
    day: date
    history_days: list[date]  # the same weekday, the weeks before, that had calls
    calls: float
    agent_hours: float
    scheduled_hours: float
    intervals: list[PlanInterval]


class StaffingPlan(BaseModel):
    queue: str
    interval_min: int
    weeks: int
    target_pct: float | None  # None when the agents were given (the inverse question)
    threshold_s: int
    short_abandon_s: int
    shrinkage: float
    talk_s: float | None  # mean talk time of the answered calls in the history
    wrapup_s: float
    aht_s: float  # talk + wrap-up (or as given)
    patience_s: float | None  # mean patience (waits / abandons), or as given; None: Erlang C
    model: Model
    timezone: str
    days: list[PlanDay]
