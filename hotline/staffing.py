"""`hotline staffing`: the staffing planner from the command line (one load, or the history)."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal, cast
from zoneinfo import ZoneInfo

from core.settings import Settings
from crm.staffing.errors import StaffingError
from crm.staffing.schemas import StaffingAnswer, StaffingPlan
from crm.staffing.service import PlanRequest, Target, answer_for_rate, plan, plan_csv

ModelChoice = Literal["auto", "erlang_c", "erlang_a"]


@dataclass
class StaffingOptions:
    rate: float | None = None
    aht: float | None = None
    patience: float | None = None
    target: float | None = None
    threshold: int | None = None
    shrinkage: float | None = None
    agents: int | None = None
    queue: str = "hotline"
    day: str | None = None
    week: bool = False
    interval: int = 30
    weeks: int | None = None
    model: str = "auto"
    json_out: bool = False
    csv_out: bool = False


def run_staffing(settings: Settings, options: StaffingOptions) -> str:
    """What the command prints."""
    if options.model not in ("auto", "erlang_c", "erlang_a"):
        raise StaffingError(f"--model must be auto, erlang_c or erlang_a, not {options.model!r}")
    if options.target is not None and options.agents is not None:
        raise StaffingError("give --target or --agents, not both")
    goal = Target(
        target_pct=None
        if options.agents is not None
        else (options.target or settings.staffing.staffing_target_pct),
        threshold_s=settings.sl.threshold_s if options.threshold is None else options.threshold,
        short_abandon_s=settings.sl.short_abandon_s,
        # The one-load answer keeps the five fields unless a shrinkage is asked for.
        shrinkage=_shrinkage(settings, options),
        agents=options.agents,
    )
    if options.rate is not None:
        if options.aht is None:
            raise StaffingError("--rate needs --aht (handle time, talk + wrap-up, seconds)")
        patience = None if options.model == "erlang_c" else options.patience
        if options.model == "erlang_a" and patience is None:
            raise StaffingError("--model erlang_a needs --patience")
        answer = answer_for_rate(options.rate, options.aht, patience, goal)
        if options.json_out:
            return json.dumps(answer.model_dump(exclude_none=True))
        return _answer_text(answer, goal)
    planned = asyncio.run(_plan(settings, options, goal))
    if options.csv_out:
        return plan_csv(planned).rstrip("\r\n")
    if options.json_out:
        return planned.model_dump_json()
    return _plan_text(planned)


def _shrinkage(settings: Settings, options: StaffingOptions) -> float:
    if options.shrinkage is not None:
        return options.shrinkage
    return 0.0 if options.rate is not None else settings.staffing.staffing_shrinkage


def _day(options: StaffingOptions, timezone: str) -> date:
    if options.day is None:
        return datetime.now(ZoneInfo(timezone)).date()
    try:
        return date.fromisoformat(options.day)
    except ValueError:
        raise StaffingError(f"--day: expected YYYY-MM-DD, got {options.day!r}") from None


async def _plan(settings: Settings, options: StaffingOptions, goal: Target) -> StaffingPlan:
    from crm.db import make_engine

    timezone = settings.calendar.timezone
    request = PlanRequest(
        queue=options.queue,
        first_day=_day(options, timezone),
        days=7 if options.week else 1,
        interval_min=options.interval,
        weeks=options.weeks or settings.staffing.staffing_weeks,
        wrapup_s=settings.staffing.wrapup_s,
        aht_s=options.aht,
        patience_s=options.patience,
        model=cast(ModelChoice, options.model),
    )
    engine = make_engine(settings.db.url)
    try:
        return await plan(engine, request, goal, timezone)
    finally:
        await engine.dispose()


def _answer_text(answer: StaffingAnswer, goal: Target) -> str:
    asa = "-" if answer.expected_asa_s is None else f"{answer.expected_asa_s:g} s"
    line = (
        f"{answer.agents} agents ({answer.model}): expected {answer.expected_sl:g} % within "
        f"{goal.threshold_s} s, ASA {asa}, abandoned {answer.expected_abandon_rate:g} %"
    )
    if answer.scheduled is not None:
        line += f"; schedule {answer.scheduled} (shrinkage {answer.shrinkage:g})"
    return line


def _plan_text(planned: StaffingPlan) -> str:
    patience = "-" if planned.patience_s is None else f"{planned.patience_s:g} s"
    goal = (
        f"{planned.target_pct:g} % within {planned.threshold_s} s"
        if planned.target_pct is not None
        else f"the agents given, threshold {planned.threshold_s} s"
    )
    lines = [
        f"queue {planned.queue}: {goal}, {planned.model}, handle time {planned.aht_s:g} s "
        f"(talk {planned.talk_s if planned.talk_s is not None else '-'} + wrap-up "
        f"{planned.wrapup_s:g}), patience {patience}, shrinkage {planned.shrinkage:g}",
    ]
    for day in planned.days:
        used = ", ".join(d.isoformat() for d in day.history_days) or "none"
        lines.append(
            f"{day.day.isoformat()}: {day.calls:g} calls forecast (history: {used}); "
            f"{day.agent_hours:g} agent-hours, {day.scheduled_hours:g} to schedule"
        )
        lines.append("  start  calls  agents  schedule  SL %   ASA s  abandon %")
        for interval in day.intervals:
            if not interval.calls and not interval.agents:
                continue
            lines.append(
                f"  {interval.start[11:16]}  {interval.calls:5g}  {interval.agents:6d}  "
                f"{interval.scheduled:8d}  {_num(interval.expected_sl):5}  "
                f"{_num(interval.expected_asa_s):6}  {_num(interval.expected_abandon_rate)}"
            )
    return "\n".join(lines)


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:g}"
