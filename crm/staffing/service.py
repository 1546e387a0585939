"""The staffing planner: calls forecast from the recorded queue entries, handle time and
patience from the same history, and the agents each interval needs (Erlang C or A).

History is the same weekday over the `weeks` before the planned day. SQL does the counting:
one grouped query over `queue_entries` (joined with `calls` for the talk time) returns a
row per 15-minute bucket of UTC time, which Python then files under the local day and
interval of `HOTLINE_TIMEZONE` (every zone's offset is a whole number of quarter hours, so
a 15-minute bucket never straddles two local intervals).

- forecast calls of an interval = the mean of that interval's queue entries over the
  history days that had any call (a queue younger than `weeks` is not diluted by zeros);
- handle time = mean talk time of the answered entries + `HOTLINE_WRAPUP_S`;
- patience = total waiting time of all entries / abandons (the maximum-likelihood mean of
  an exponential patience that answered calls only censor); no abandon: Erlang C.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Literal
from zoneinfo import ZoneInfo

from sqlalchemy import BigInteger, Integer, and_, case, cast, func, select
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.sql.elements import ColumnElement

from crm.models import Call, QueueEntry, QueueEntryOutcome
from crm.staffing.erlang import Figures, Load, agents_needed, figures, to_schedule
from crm.staffing.errors import StaffingError
from crm.staffing.schemas import (
    CSV_COLUMNS,
    PlanDay,
    PlanInterval,
    StaffingAnswer,
    StaffingPlan,
)

BUCKET_S = 900  # SQL groups by quarter hours of UTC time
INTERVALS_MIN = (15, 30, 60)
ModelChoice = Literal["auto", "erlang_c", "erlang_a"]


@dataclass(frozen=True)
class Target:
    """The question: a share within a threshold, or (inverse) a given number of agents."""

    target_pct: float | None
    threshold_s: int
    short_abandon_s: int = 0
    shrinkage: float = 0.0
    agents: int | None = None

    def __post_init__(self) -> None:
        if self.agents is None and self.target_pct is None:
            raise StaffingError(
                "give a target (percent within the threshold) or a number of agents"
            )
        if self.agents is not None and self.agents < 1:
            raise StaffingError("the number of agents must be at least 1")
        if self.threshold_s < 0:
            raise StaffingError("the threshold must be >= 0 s")
        to_schedule(1, self.shrinkage)  # checks the shrinkage

    def answer(self, load: Load) -> Figures:
        if self.agents is not None:
            return figures(load, self.agents, self.threshold_s, self.short_abandon_s)
        return agents_needed(
            load, (self.target_pct or 0) / 100, self.threshold_s, self.short_abandon_s
        )


def answer_for_rate(
    rate_per_hour: float, aht_s: float, patience_s: float | None, target: Target
) -> StaffingAnswer:
    """One load, as `hotline staffing --rate` asks: the agents and their expected figures."""
    load = Load(rate_per_hour / 3600, aht_s, patience_s)
    found = target.answer(load)
    figures_ = found.as_dict()
    answer = StaffingAnswer(
        agents=found.agents,
        expected_sl=float(figures_["expected_sl"]),
        expected_asa_s=_finite(found.asa_s),
        expected_abandon_rate=float(figures_["expected_abandon_rate"]),
        model=found.model,
    )
    if target.shrinkage:
        answer.scheduled = to_schedule(found.agents, target.shrinkage)
        answer.shrinkage = target.shrinkage
    return answer


def _finite(value: float) -> float | None:
    return None if value != value or value in (float("inf"), float("-inf")) else round(value, 2)


@dataclass
class Bucket:
    """Counts of one local interval of one history day."""

    offered: int = 0
    abandoned: int = 0
    wait_sum_s: float = 0.0
    talk_sum_s: float = 0.0
    talked: int = 0

    def add(self, other: Bucket) -> None:
        self.offered += other.offered
        self.abandoned += other.abandoned
        self.wait_sum_s += other.wait_sum_s
        self.talk_sum_s += other.talk_sum_s
        self.talked += other.talked


@dataclass
class History:
    """What the history days hold, by (local day, interval of the day)."""

    interval_min: int
    slots: dict[tuple[date, int], Bucket] = field(default_factory=lambda: defaultdict(Bucket))

    def days_with_calls(self) -> set[date]:
        return {day for (day, _), bucket in self.slots.items() if bucket.offered}

    def pooled(self, days: set[date]) -> Bucket:
        total = Bucket()
        for (day, _), bucket in self.slots.items():
            if day in days:
                total.add(bucket)
        return total


def _bucket_of(dialect: str) -> ColumnElement[int]:
    """The quarter hour of `joined_at` as a whole number (seconds since the epoch / 900)."""
    if dialect == "postgresql":
        epoch = func.floor(func.extract("epoch", QueueEntry.joined_at) / BUCKET_S)
        return cast(epoch, BigInteger)
    # SQLite: strftime('%s') is whole seconds (truncated), integer division floors them.
    return cast(func.strftime("%s", QueueEntry.joined_at), Integer) // BUCKET_S


async def load_history(
    engine: AsyncEngine,
    queue: str,
    start: datetime,
    end: datetime,
    tz: tzinfo,
    interval_min: int,
) -> History:
    """Per local day and interval: entries, abandons, waiting and talk time, from SQL."""
    bucket = _bucket_of(engine.dialect.name).label("bucket")
    answered_first = and_(
        QueueEntry.outcome == QueueEntryOutcome.answered,
        QueueEntry.entry == 1,
        Call.talk_s.is_not(None),
    )
    query = (
        select(
            bucket,
            func.count().label("offered"),
            func.sum(case((QueueEntry.outcome == QueueEntryOutcome.abandoned, 1), else_=0)).label(
                "abandoned"
            ),
            func.coalesce(func.sum(QueueEntry.wait_s), 0.0).label("wait_sum_s"),
            func.coalesce(func.sum(case((answered_first, Call.talk_s), else_=None)), 0.0).label(
                "talk_sum_s"
            ),
            func.count(case((answered_first, 1), else_=None)).label("talked"),
        )
        .select_from(QueueEntry)
        .join(Call, Call.id == QueueEntry.call_id)
        .where(
            QueueEntry.queue == queue,
            QueueEntry.joined_at >= start.astimezone(UTC),
            QueueEntry.joined_at < end.astimezone(UTC),
        )
        .group_by(bucket)
    )
    async with engine.connect() as conn:
        rows = (await conn.execute(query)).all()
    history = History(interval_min)
    for row in rows:
        local = datetime.fromtimestamp(int(row.bucket) * BUCKET_S, UTC).astimezone(tz)
        slot = (local.hour * 60 + local.minute) // interval_min
        history.slots[(local.date(), slot)].add(
            Bucket(
                int(row.offered),
                int(row.abandoned or 0),
                float(row.wait_sum_s or 0),
                float(row.talk_sum_s or 0),
                int(row.talked or 0),
            )
        )
    return history


def day_intervals(day: date, interval_min: int, tz: tzinfo) -> list[tuple[datetime, datetime]]:
    """The intervals of a local day by wall clock (a DST day has fewer or more hours)."""
    start = datetime.combine(day, time(0), tzinfo=tz)
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=tz)
    intervals = []
    for n in range(24 * 60 // interval_min):
        begin = start + timedelta(minutes=n * interval_min)
        finish = min(end, begin + timedelta(minutes=interval_min))
        intervals.append((begin, finish))
    return intervals


@dataclass(frozen=True)
class PlanRequest:
    queue: str
    first_day: date
    days: int = 1
    interval_min: int = 30
    weeks: int = 4
    wrapup_s: float = 10.0
    aht_s: float | None = None  # as given (talk + wrap-up), else from the history
    patience_s: float | None = None  # as given, else from the history
    model: ModelChoice = "auto"

    def __post_init__(self) -> None:
        if self.interval_min not in INTERVALS_MIN:
            raise StaffingError(
                f"the interval must be 15, 30 or 60 minutes, not {self.interval_min}"
            )
        if not 1 <= self.days <= 7:
            raise StaffingError("plan 1 to 7 days at a time")
        if not 1 <= self.weeks <= 52:
            raise StaffingError("use 1 to 52 weeks of history")
        if self.model not in ("auto", "erlang_c", "erlang_a"):
            raise StaffingError(f"the model must be auto, erlang_c or erlang_a, not {self.model!r}")


async def plan(
    engine: AsyncEngine, request: PlanRequest, target: Target, timezone: str
) -> StaffingPlan:
    """The agents each interval of the planned day(s) needs, from the recorded history."""
    tz = ZoneInfo(timezone)
    days = [request.first_day + timedelta(days=n) for n in range(request.days)]
    earliest = days[0] - timedelta(weeks=request.weeks)
    history = await load_history(
        engine,
        request.queue,
        datetime.combine(earliest, time(0), tzinfo=tz),
        datetime.combine(days[-1] - timedelta(weeks=1) + timedelta(days=1), time(0), tzinfo=tz),
        tz,
        request.interval_min,
    )
    with_calls = history.days_with_calls()
    history_of = {
        day: [
            day - timedelta(weeks=k)
            for k in range(1, request.weeks + 1)
            if day - timedelta(weeks=k) in with_calls
        ]
        for day in days
    }
    pooled = history.pooled({d for used in history_of.values() for d in used})
    talk_s = pooled.talk_sum_s / pooled.talked if pooled.talked else None
    aht_s = request.aht_s
    if aht_s is None:
        if talk_s is None:
            raise StaffingError(
                f"no answered call of queue {request.queue!r} with a talk time in the "
                f"{request.weeks} weeks of history: give the handle time (aht_s)"
            )
        aht_s = talk_s + request.wrapup_s
    patience_s = _patience(request, pooled)
    plan_days = [
        _plan_day(day, history_of[day], history, request, target, aht_s, patience_s, tz)
        for day in days
    ]
    return StaffingPlan(
        queue=request.queue,
        interval_min=request.interval_min,
        weeks=request.weeks,
        target_pct=None if target.agents is not None else target.target_pct,
        threshold_s=target.threshold_s,
        short_abandon_s=target.short_abandon_s,
        shrinkage=target.shrinkage,
        talk_s=None if talk_s is None else round(talk_s, 2),
        wrapup_s=request.wrapup_s,
        aht_s=round(aht_s, 2),
        patience_s=None if patience_s is None else round(patience_s, 2),
        model="erlang_c" if patience_s is None else "erlang_a",
        timezone=timezone,
        days=plan_days,
    )


def _patience(request: PlanRequest, pooled: Bucket) -> float | None:
    if request.model == "erlang_c":
        return None
    if request.patience_s is not None:
        return request.patience_s
    if pooled.abandoned:
        return pooled.wait_sum_s / pooled.abandoned
    if request.model == "erlang_a":
        raise StaffingError(
            "nobody abandoned in the history, so it tells no patience: give patience_s "
            "or use erlang_c"
        )
    return None


def _plan_day(
    day: date,
    used: list[date],
    history: History,
    request: PlanRequest,
    target: Target,
    aht_s: float,
    patience_s: float | None,
    tz: tzinfo,
) -> PlanDay:
    intervals = []
    length_s = request.interval_min * 60
    for slot, (begin, end) in enumerate(day_intervals(day, request.interval_min, tz)):
        offered = sum(history.slots[(d, slot)].offered for d in used if (d, slot) in history.slots)
        calls = offered / len(used) if used else 0.0
        rate_per_hour = calls * 3600 / length_s
        if calls == 0:
            intervals.append(
                PlanInterval(
                    start=begin.isoformat(),
                    end=end.isoformat(),
                    calls=0.0,
                    rate_per_hour=0.0,
                    agents=target.agents or 0,
                    scheduled=to_schedule(target.agents or 0, target.shrinkage),
                    expected_sl=None,
                    expected_asa_s=None,
                    expected_abandon_rate=None,
                )
            )
            continue
        found = target.answer(Load(calls / length_s, aht_s, patience_s))
        shown = found.as_dict()
        intervals.append(
            PlanInterval(
                start=begin.isoformat(),
                end=end.isoformat(),
                calls=round(calls, 2),
                rate_per_hour=round(rate_per_hour, 2),
                agents=found.agents,
                scheduled=to_schedule(found.agents, target.shrinkage),
                expected_sl=float(shown["expected_sl"]),
                expected_asa_s=_finite(found.asa_s),
                expected_abandon_rate=float(shown["expected_abandon_rate"]),
            )
        )
    hours = request.interval_min / 60
    return PlanDay(
        day=day,
        history_days=sorted(used),
        calls=round(sum(i.calls for i in intervals), 2),
        agent_hours=sum(i.agents for i in intervals) * hours,
        scheduled_hours=sum(i.scheduled for i in intervals) * hours,
        intervals=intervals,
    )


def plan_csv(staffing: StaffingPlan) -> str:
    """The plan as CSV, one row per interval (what a rota tool or a spreadsheet reads)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for day in staffing.days:
        for interval in day.intervals:
            writer.writerow(
                [
                    day.day.isoformat(),
                    interval.start,
                    interval.end,
                    staffing.queue,
                    interval.calls,
                    interval.rate_per_hour,
                    staffing.aht_s,
                    "" if staffing.patience_s is None else staffing.patience_s,
                    staffing.model,
                    interval.agents,
                    interval.scheduled,
                    _blank(interval.expected_sl),
                    _blank(interval.expected_asa_s),
                    _blank(interval.expected_abandon_rate),
                ]
            )
    return out.getvalue()


def _blank(value: float | None) -> str | float:
    return "" if value is None else value
