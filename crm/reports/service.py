"""The agent report: per agent and interval, from the recorded sessions, pauses, rings,
answered queue entries and transfers.

Time figures (logged in, paused, talk, wrap-up) are split across intervals by overlap;
counts (offered, answered, missed, transfers) go to the interval of their moment (the
ring, the answer, the transfer). What is still open (a session, a pause, a call being
talked) counts up to `now`. Logged-in time is the union of an agent's sessions across
queues (two queues at once are one hour, not two); paused time the union of its pauses
within it, per reason. Wrap-up is app_queue's: from the end of each answered call to its
whole second plus the queue's `wrapuptime` (`HOTLINE_WRAPUP_S`), within logged-in time
(Asterisk tells no event for it). Occupancy is the share of the time the agent could take
calls that it spent on them: busy / (logged in - paused + busy while paused), where busy is
talk and wrap-up within logged-in time (a call talked after the agent's session ended, or
recorded before its sessions were, is talk but not occupancy; a pause taken during a call or
its wrap-up keeps that time busy). It is never over 100 %.
Contacts per day = answered / the local days of the interval on which the agent was
logged in.

The answered entries are streamed from the database and added up one by one, so the
process holds one number per agent and interval, never the rows.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, tzinfo

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncEngine

from crm.models import AgentPause, AgentRing, AgentSession, QueueEntry, QueueEntryOutcome, Transfer
from crm.supervisor.intervals import Interval, next_start

LONGEST_CALL = timedelta(days=1)  # an answered call is looked for this far before `from`

Span = tuple[float, float]


@dataclass
class AgentFigures:
    """One agent's figures over one interval (or the whole range)."""

    logged_in_s: float = 0.0
    sessions: int = 0
    paused_s: float = 0.0
    paused_by_reason: dict[str, float] = field(default_factory=dict)
    offered: int = 0
    answered: int = 0
    missed: int = 0
    talk_s: float = 0.0
    wrapup_s: float = 0.0
    transfers: int = 0
    days_logged_in: int = 0
    busy_s: float = 0.0  # talk and wrap-up within logged-in time (occupancy's numerator)
    busy_paused_s: float = 0.0  # the part of busy_s within pauses

    @property
    def contacts_per_day(self) -> float | None:
        if self.days_logged_in:
            return round(self.answered / self.days_logged_in, 2)
        return float(self.answered) if self.answered else None

    @property
    def occupancy(self) -> float | None:
        """busy / (logged in - paused + busy while paused), %: at most 100."""
        available = self.logged_in_s - self.paused_s + self.busy_paused_s
        if available <= 0:
            return None
        return round(min(100.0, 100.0 * self.busy_s / available), 1)

    def as_dict(self) -> dict[str, object]:
        return {
            "logged_in_s": round(self.logged_in_s, 3),
            "sessions": self.sessions,
            "paused_s": round(self.paused_s, 3),
            "paused_by_reason": {
                reason: round(seconds, 3)
                for reason, seconds in sorted(self.paused_by_reason.items())
            },
            "offered": self.offered,
            "answered": self.answered,
            "missed": self.missed,
            "talk_s": round(self.talk_s, 3),
            "wrapup_s": round(self.wrapup_s, 3),
            "transfers": self.transfers,
            "days_logged_in": self.days_logged_in,
            "contacts_per_day": self.contacts_per_day,
            "occupancy": self.occupancy,
        }


def union(spans: Iterable[Span]) -> list[Span]:
    """Sorted, disjoint spans covering the same time.

    >>> union([(5, 8), (1, 3), (2, 4), (8, 9)])
    [(1, 4), (5, 9)]
    """
    merged: list[list[float]] = []
    for begin, end in sorted(spans):
        if end <= begin:
            continue
        if merged and begin <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([begin, end])
    return [(begin, end) for begin, end in merged]


def clip(span: Span, within: list[Span]) -> list[Span]:
    """The parts of one span inside sorted disjoint `within`, found by bisection (a
    quarter's million calls each clipped to an agent's sessions).

    >>> clip((2, 12), [(0, 3), (5, 6), (10, 20), (30, 40)])
    [(2, 3), (5, 6), (10, 12)]
    """
    begin, end = span
    found: list[Span] = []
    i = max(0, bisect_right(within, (begin, math.inf)) - 1)
    while i < len(within) and within[i][0] < end:
        part = (max(begin, within[i][0]), min(end, within[i][1]))
        if part[0] < part[1]:
            found.append(part)
        i += 1
    return found


def intersect(spans: list[Span], within: list[Span]) -> list[Span]:
    """The parts of sorted disjoint `spans` inside sorted disjoint `within`.

    >>> intersect([(0, 10), (20, 30)], [(5, 25)])
    [(5, 10), (20, 25)]
    """
    found: list[Span] = []
    i = j = 0
    while i < len(spans) and j < len(within):
        begin = max(spans[i][0], within[j][0])
        end = min(spans[i][1], within[j][1])
        if begin < end:
            found.append((begin, end))
        if spans[i][1] < within[j][1]:
            i += 1
        else:
            j += 1
    return found


class Grid:
    """The report's intervals as epoch bounds: `bounds[i]` to `bounds[i + 1]`."""

    def __init__(
        self, starts: list[datetime], start: datetime, end: datetime, interval: Interval, tz: tzinfo
    ):
        self.starts = starts
        self.tz = tz
        ends = [
            min(starts[i + 1] if i + 1 < len(starts) else end, next_start(s, interval, tz), end)
            for i, s in enumerate(starts)
        ]
        self.ends = ends
        self.bounds = [max(start, starts[0]).timestamp()] + [e.timestamp() for e in ends]
        self.first, self.last = self.bounds[0], self.bounds[-1]

    def index(self, at: float) -> int | None:
        """The interval holding `at`, None outside the range."""
        if not self.first <= at < self.last:
            return None
        return bisect_right(self.bounds, at) - 1

    def spread(self, span: Span) -> Iterable[tuple[int, float]]:
        """(interval, seconds) of the span's overlap with each interval."""
        begin, end = max(span[0], self.first), min(span[1], self.last)
        if begin >= end:
            return
        i = bisect_right(self.bounds, begin) - 1
        while i < len(self.bounds) - 1 and self.bounds[i] < end:
            overlap = min(end, self.bounds[i + 1]) - max(begin, self.bounds[i])
            if overlap > 0:
                yield i, overlap
            i += 1

    def touched(self, span: Span) -> set[int]:
        return {i for i, _ in self.spread(span)}

    def local_days(self, span: Span, i: int) -> set[date]:
        """The local dates the span covers within interval `i`."""
        begin, end = max(span[0], self.bounds[i]), min(span[1], self.bounds[i + 1])
        days: set[date] = set()
        if begin >= end:
            return days
        day = datetime.fromtimestamp(begin, self.tz).date()
        last = datetime.fromtimestamp(math.nextafter(end, -math.inf), self.tz).date()
        while day <= last:
            days.add(day)
            day += timedelta(days=1)
        return days


@dataclass
class AgentReport:
    agent: str
    total: AgentFigures
    series: list[AgentFigures]


class _Agent:
    def __init__(self, size: int) -> None:
        self.series = [AgentFigures() for _ in range(size)]
        self.total = AgentFigures()
        self.logged_in: list[Span] = []
        self.paused: list[Span] = []  # the union of its pauses within logged-in time
        self.days: list[set[date]] = [set() for _ in range(size)]


def _ts(at: datetime | None, default: float) -> float:
    return at.timestamp() if at is not None else default


async def agent_report(
    engine: AsyncEngine,
    starts: list[datetime],
    start: datetime,
    end: datetime,
    interval: Interval,
    tz: tzinfo,
    *,
    wrapup_s: float,
    now: datetime,
    agent: str | None = None,
) -> tuple[Grid, list[AgentReport]]:
    """Every agent's figures per interval of `starts` and over [start, end)."""
    grid = Grid(starts, start, end, interval, tz)
    now_s = min(now.timestamp(), grid.last)
    agents: dict[str, _Agent] = {}

    def of(name: str) -> _Agent:
        found = agents.get(name)
        if found is None:
            found = agents[name] = _Agent(len(starts))
        return found

    def only(column):  # type: ignore[no-untyped-def]
        return column == agent if agent is not None else True

    async with engine.connect() as conn:
        # Sessions: logged-in time is their union per agent; `sessions` counts each one.
        rows = await conn.execute(
            select(AgentSession.agent, AgentSession.login_at, AgentSession.logout_at).where(
                AgentSession.login_at < end,
                or_(AgentSession.logout_at.is_(None), AgentSession.logout_at > start),
                only(AgentSession.agent),
            )
        )
        spans: dict[str, list[Span]] = {}
        for name, login_at, logout_at in rows:
            span = (
                login_at.timestamp(),
                min(_ts(logout_at, now_s), max(now_s, login_at.timestamp())),
            )
            spans.setdefault(name, []).append(span)
            record = of(name)
            record.total.sessions += 1
            for i in grid.touched(span):
                record.series[i].sessions += 1
        for name, found in spans.items():
            record = of(name)
            record.logged_in = union(found)
            for span in record.logged_in:
                for i, seconds in grid.spread(span):
                    record.series[i].logged_in_s += seconds
                    record.days[i] |= grid.local_days(span, i)
        # Pauses, within logged-in time: the total is their union, and per reason.
        rows = await conn.execute(
            select(
                AgentPause.agent, AgentPause.reason, AgentPause.paused_at, AgentPause.unpaused_at
            ).where(
                AgentPause.paused_at < end,
                or_(AgentPause.unpaused_at.is_(None), AgentPause.unpaused_at > start),
                only(AgentPause.agent),
            )
        )
        pauses: dict[str, dict[str, list[Span]]] = {}
        for name, reason, paused_at, unpaused_at in rows:
            span = (paused_at.timestamp(), _ts(unpaused_at, now_s))
            pauses.setdefault(name, {}).setdefault(reason or "", []).append(span)
        for name, by_reason in pauses.items():
            record = of(name)
            every: list[Span] = []
            for reason, found in by_reason.items():
                inside = intersect(union(found), record.logged_in)
                every += inside
                for span in inside:
                    for i, seconds in grid.spread(span):
                        figures = record.series[i]
                        figures.paused_by_reason[reason] = (
                            figures.paused_by_reason.get(reason, 0.0) + seconds
                        )
            record.paused = union(every)
            for span in record.paused:
                for i, seconds in grid.spread(span):
                    record.series[i].paused_s += seconds
        # Rings: offered and missed.
        rows = await conn.execute(
            select(AgentRing.agent, AgentRing.kind, AgentRing.at).where(
                AgentRing.at >= start, AgentRing.at < end, only(AgentRing.agent)
            )
        )
        for name, kind, at in rows:
            i = grid.index(at.timestamp())
            if i is None:
                continue
            figures = of(name).series[i]
            if kind == "rang":
                figures.offered += 1
            elif kind == "no_answer":
                figures.missed += 1
        # Transfers the agent made.
        rows = await conn.execute(
            select(Transfer.from_agent, Transfer.at).where(
                Transfer.at >= start,
                Transfer.at < end,
                Transfer.from_agent.is_not(None),
                Transfer.from_agent != "",
                only(Transfer.from_agent),
            )
        )
        for name, at in rows:
            i = grid.index(at.timestamp())
            if i is not None:
                of(name).series[i].transfers += 1
        # Answered calls: talk and wrap-up, streamed (a quarter holds a million).
        result = await conn.stream(
            select(QueueEntry.agent, QueueEntry.answered_at, QueueEntry.completed_at).where(
                QueueEntry.joined_at >= start - LONGEST_CALL,
                QueueEntry.joined_at < end,
                QueueEntry.outcome == QueueEntryOutcome.answered,
                QueueEntry.answered_at.is_not(None),
                and_(QueueEntry.agent.is_not(None), only(QueueEntry.agent)),
            ),
        )
        async for name, answered_at, completed_at in result:
            answered_s = answered_at.timestamp()
            if answered_s >= grid.last:
                continue
            record = of(name)
            i = grid.index(answered_s)
            if i is not None:
                record.series[i].answered += 1
            talk_end = _ts(completed_at, max(now_s, answered_s))
            for k, seconds in grid.spread((answered_s, talk_end)):
                record.series[k].talk_s += seconds
            busy_end = talk_end
            if completed_at is not None and wrapup_s > 0:
                busy_end = max(talk_end, math.floor(talk_end) + wrapup_s)
                for span in clip((talk_end, busy_end), record.logged_in):
                    for k, seconds in grid.spread(span):
                        record.series[k].wrapup_s += seconds
            for busy in clip((answered_s, busy_end), record.logged_in):
                for k, seconds in grid.spread(busy):
                    record.series[k].busy_s += seconds
                for span in clip(busy, record.paused):
                    for k, seconds in grid.spread(span):
                        record.series[k].busy_paused_s += seconds
    reports = []
    for name in sorted(agents):
        record = agents[name]
        total = record.total
        total_days: set[date] = set()
        for i, figures in enumerate(record.series):
            figures.days_logged_in = len(record.days[i])
            total_days |= record.days[i]
            _add(total, figures)
        total.days_logged_in = len(total_days)
        reports.append(AgentReport(name, total, record.series))
    return grid, reports


def _add(total: AgentFigures, figures: AgentFigures) -> None:
    total.logged_in_s += figures.logged_in_s
    total.paused_s += figures.paused_s
    for reason, seconds in figures.paused_by_reason.items():
        total.paused_by_reason[reason] = total.paused_by_reason.get(reason, 0.0) + seconds
    total.offered += figures.offered
    total.answered += figures.answered
    total.missed += figures.missed
    total.talk_s += figures.talk_s
    total.wrapup_s += figures.wrapup_s
    total.transfers += figures.transfers
    total.busy_s += figures.busy_s
    total.busy_paused_s += figures.busy_paused_s
