"""The demo's figures: live lines while it runs, and the summary set beside the ground truth."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from asterisksim.sim import SimulatedAsterisk
from callqueue.calls import QueueEntry
from core.service_level import service_level
from core.settings import ServiceLevelSettings
from crm.models import Call, Ticket
from crm.supervisor.history import load_entries, outcome_of
from hotline.demo.traffic import BusyHourTraffic

QUEUE = "hotline"  # the figures are the hotline number's: its queue, first line
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
FAR = datetime(2200, 1, 1, tzinfo=UTC)


class LiveLine:
    """One line of live figures from the tracker's memory (what the wallboard shows)."""

    def __init__(self, tracker: Any, traffic: BusyHourTraffic, calls: int) -> None:
        self.tracker = tracker
        self.traffic = traffic
        self.calls = calls

    def render(self, elapsed_s: float) -> str:
        entries = [e for e in self.tracker.tracker.entries() if e.queue == QUEUE]
        waiting = sum(1 for e in entries if e.outcome == "waiting")
        figures = service_level([e.as_outcome() for e in entries])[QUEUE] if entries else {}
        sl = figures.get("sl")
        placed = self.traffic.counts.placed
        return (
            f"[{elapsed_s / 60:5.1f} min] calls {placed}/{self.calls}"
            f" ({100 * placed // self.calls}%)  waiting {waiting:3d}"
            f"  queue entries: answered {figures.get('answered', 0)}"
            f"  abandoned {figures.get('abandoned', 0)}"
            f"  SL so far {'-' if sl is None else f'{sl:.1f}%'}"
        )


def truth_entries(sim: SimulatedAsterisk) -> list[QueueEntry]:
    """The simulator's ground truth as queue entries (waits as the PBX really had them)."""
    entries = []
    for call in sim.ground_truth:
        for n, visit in enumerate(call.visits, 1):
            entry = QueueEntry(
                linkedid=call.linkedid,
                entry=n,
                queue=visit.queue,
                channel="",
                caller_num=call.caller_num,
                caller_name=call.caller_name,
                position=visit.position,
                joined_at=visit.joined_at,
                wait_s=visit.wait_s,
                wait_whole_s=visit.hold_time_field,  # the HoldTime, answered or abandoned
                agent=visit.agent or "",
            )
            entry.answered = visit.answered_at is not None
            entry.abandoned = visit.abandoned_at is not None
            entries.append(entry)
    return entries


@dataclass
class DemoReport:
    calls: int
    answered: int
    abandoned: int
    transfers: int
    transfer_tries: int
    third_transfer_tries: int
    max_transfers_per_call: int
    tickets: int
    ours: dict[str, Any]
    truth: dict[str, Any]
    truth_calls: int
    elapsed_s: float
    sql_agrees: bool = True  # SQL's recorded entries give the same counts, `sl`, perf, perf2
    # Tries Hotline turned down at the limit (the call contexts' `refused`, counted by the
    # AGI route `transfer` and the API when they refused).
    refused: int = 0
    # Calls (the simulator's truth) that never waited in line 1, and that waited in it twice
    # or more: why queue entries and calls are not the same count.
    calls_never_queued: int = 0
    calls_queued_again: int = 0

    @property
    def transfers_refused(self) -> int:
        return self.refused

    def summary(self) -> dict[str, Any]:
        """The one JSON object of `hotline demo --json`."""
        return {
            "calls": self.calls,
            "answered": self.answered,
            "abandoned": self.abandoned,
            "transfers": self.transfers,
            "transfers_refused": self.transfers_refused,
            "max_transfers_per_call": self.max_transfers_per_call,
            "tickets": self.tickets,
            "service_level": {
                "threshold_s": self.ours["threshold_s"],
                "sl": self.ours["sl"],
                "perf": self.ours["perf"],
                "perf2": self.ours["perf2"],
            },
            "asa_s": self.ours["asa_s"],
            "truth": {
                "sl": self.truth["sl"],
                "perf": self.truth["perf"],
                "perf2": self.truth["perf2"],
            },
        }

    def text(self) -> str:
        s = self.summary()
        level, truth = s["service_level"], s["truth"]
        same = (level["sl"], level["perf"], level["perf2"]) == (
            truth["sl"],
            truth["perf"],
            truth["perf2"],
        )
        entries = s["answered"] + s["abandoned"]
        lines = [
            f"done in {self.elapsed_s:.1f} s",
            f"calls {s['calls']} (simulator: {self.truth_calls}), tickets {s['tickets']}"
            f"{'  = one per call' if s['tickets'] == s['calls'] else '  (NOT one per call)'}",
            f"  of those calls: {self.calls_never_queued} hung up before the queue,"
            f" {self.calls_queued_again} waited in line 1 more than once",
            f"queue entries of line 1 ({QUEUE}): {entries} = answered {s['answered']}"
            f" + abandoned {s['abandoned']}, ASA {s['asa_s']} s",
            "  (one entry per wait: a call a refused transfer sends back to line 1 counts again)",
            f"transfers of calls {s['transfers']} (tries {self.transfer_tries}, third tries"
            f" {self.third_transfer_tries}, refused {s['transfers_refused']},"
            f" most on one call {s['max_transfers_per_call']})",
            f"service level over the queue entries (T={level['threshold_s']} s):"
            f" sl {level['sl']}%, perf {level['perf']}%, perf2 {level['perf2']}%",
            "recorded in SQL: the same counts, sl, perf and perf2"
            if self.sql_agrees
            else "recorded in SQL: DIFFERENT counts, sl, perf or perf2",
            f"simulator's truth:           sl {truth['sl']}%, perf {truth['perf']}%,"
            f" perf2 {truth['perf2']}%  {'(same)' if same else '(DIFFERENT)'}",
        ]
        return "\n".join(lines)


async def build_report(
    engine: AsyncEngine,
    tracker: Any,
    sim: SimulatedAsterisk,
    traffic: BusyHourTraffic,
    sl: ServiceLevelSettings,
    elapsed_s: float,
    refused: int = 0,
) -> DemoReport:
    """Figures from what Hotline recorded in SQL, and the simulator's truth beside them."""
    # The tracker's entries and SQL (`wait_whole_s`) both carry Asterisk's whole-second
    # HoldTime, so they must agree on the counts, our own `sl` and perf/perf2.
    ours = service_level(
        [e.as_outcome() for e in tracker.tracker.entries() if e.queue == QUEUE],
        sl.threshold_s,
        sl.short_abandon_s,
    )
    rows = await load_entries(engine, EPOCH, FAR, QUEUE)
    recorded = service_level([outcome_of(r) for r in rows], sl.threshold_s, sl.short_abandon_s)
    truth = service_level(
        [e.as_outcome() for e in truth_entries(sim) if e.queue == QUEUE],
        sl.threshold_s,
        sl.short_abandon_s,
    )
    async with engine.connect() as conn:
        calls = (await conn.execute(select(func.count()).select_from(Call))).scalar_one()
        tickets = (await conn.execute(select(func.count()).select_from(Ticket))).scalar_one()
        transfers, most = (
            await conn.execute(
                select(
                    func.coalesce(func.sum(Call.transfer_count), 0),
                    func.coalesce(func.max(Call.transfer_count), 0),
                )
            )
        ).one()
    visits = [sum(1 for v in c.visits if v.queue == QUEUE) for c in sim.ground_truth]
    empty = {"threshold_s": sl.threshold_s, "sl": None, "perf": 0.0, "perf2": 0.0, "asa_s": None}
    mine = ours.get(QUEUE, empty | {"answered": 0, "abandoned": 0})
    in_sql = recorded.get(QUEUE, empty | {"answered": 0, "abandoned": 0})
    sql_agrees = all(
        mine.get(k) == in_sql.get(k) for k in ("answered", "abandoned", "sl", "perf", "perf2")
    )
    return DemoReport(
        calls=calls,
        answered=mine["answered"],
        abandoned=mine["abandoned"],
        transfers=int(transfers),
        transfer_tries=traffic.counts.transfer_tries,
        third_transfer_tries=traffic.counts.third_transfer_tries,
        max_transfers_per_call=int(most),
        tickets=tickets,
        ours=mine,
        truth=truth.get(QUEUE, empty),
        truth_calls=len(sim.ground_truth),
        elapsed_s=elapsed_s,
        sql_agrees=sql_agrees,
        refused=refused,
        calls_never_queued=sum(1 for n in visits if n == 0),
        calls_queued_again=sum(1 for n in visits if n > 1),
    )
