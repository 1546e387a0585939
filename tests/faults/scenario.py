"""One fault on the running stack while callers ring at a steady rate, and what Hotline
kept of those calls against the simulator's truth: one row of the fault table.

A phase: callers ring every `1/rate` s; `before_s` in, the fault is done (break, wait,
repair); callers go on for `after_s`; then every call is left to end, and Hotline gets
`settle_s` at most to record them all. The row is read from the CRM's PostgreSQL and the
simulator's ground truth, whatever came of the wait.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from asterisksim.calls import Call
from core.service_level import EntryOutcome, service_level
from tests.faults.stack import SL_SHORT_ABANDON_S, SL_THRESHOLD_S, Stack, until

APOLOGY = "apology-no-uin"
MENU = "uin-menu"  # the route's last prompt, after the UIN: the dialogue was whole
PATIENCE_S = (2.0, 5.0, 12.0)  # the callers' patience in the queue, in turn
SL_KEYS = ("answered", "abandoned", "sl", "perf", "perf2")


@dataclass
class Fault:
    name: str
    do: Callable[[Stack], Awaitable[None]]
    # The AGI server's own restart: callers in its gap get no UIN (see `judge`).
    excuse_agi_unreachable: bool = False
    # The tracker away or its AMI connection cut: the events meanwhile are lost, and the
    # waits of calls answered or ended then are Asterisk's record (`HoldTime`, queue_log:
    # whole seconds), so each is right to within 1 s and `sl`, which counts the exact
    # waits, may differ from the truth by those calls alone.
    waits_from_records: bool = False


@dataclass
class Row:
    fault: str
    truth_calls: int
    crm_calls: int
    tickets: int  # tickets of this phase's callers (withdrawn ones apart)
    calls_with_ticket: int
    in_progress: int  # calls or queue entries the CRM still holds open
    duplicates: int  # a second ticket for one caller, or more queue entries than waits
    uin_heard: int
    uin_is_the_ticket: int  # callers whose call's ticket is the UIN they heard
    apologies: int
    no_uin: int  # neither a UIN nor the apology
    agi_unreachable: int  # callers whose AGI() found no server (AGISTATUS FAILURE)
    sl_truth: dict[str, Any]
    sl_crm: dict[str, Any]
    settle_s: float
    fault_s: float
    # callers whose AGI session the kill cut before the menu after the UIN
    agi_cut: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def nothing_lost(self) -> bool:
        return not self.problems

    def as_json(self) -> dict[str, Any]:
        return {**asdict(self), "nothing_lost": self.nothing_lost}


def _digits(number: str | None) -> str:
    return "".join(ch for ch in number or "" if ch.isdigit())


def _truth_entries(calls: list[Call]) -> list[EntryOutcome]:
    return [
        EntryOutcome(
            visit.queue,
            "answered" if visit.answered_at is not None else "abandoned",
            visit.wait_s,
            visit.hold_time_field,
        )
        for call in calls
        for visit in call.truth.visits
        if visit.answered_at is not None or visit.abandoned_at is not None
    ]


def _figures(entries: list[EntryOutcome]) -> dict[str, Any]:
    figures = service_level(entries, SL_THRESHOLD_S, SL_SHORT_ABANDON_S).get("all", {})
    return {key: figures.get(key) for key in SL_KEYS}


async def _recorded(stack: Stack, calls: list[Call]) -> dict[str, Any]:
    linkedids = [call.truth.linkedid for call in calls]
    phones = [_digits(call.truth.caller_num) for call in calls]
    rows = await stack.postgres.fetch(
        "SELECT c.linkedid, c.outcome, c.ended_at, t.uin FROM calls c"
        " LEFT JOIN tickets t ON t.id = c.ticket_id WHERE c.linkedid = ANY($1::text[])",
        linkedids,
    )
    tickets = await stack.postgres.fetch(
        "SELECT uin, caller_phone FROM tickets WHERE status <> 'withdrawn'"
        " AND right(caller_phone, 11) = ANY($1::text[])",
        [p[-11:] for p in phones],
    )
    entries = await stack.postgres.fetch(
        "SELECT c.linkedid, e.entry, e.queue, e.outcome, e.wait_s, e.wait_whole_s,"
        " e.completed_at"
        " FROM queue_entries e JOIN calls c ON c.id = e.call_id"
        " WHERE c.linkedid = ANY($1::text[])",
        linkedids,
    )
    return {"calls": rows, "tickets": tickets, "entries": entries}


def _settled(calls: list[Call], seen: dict[str, Any]) -> bool:
    """Every call recorded, ended and ticketed as its caller was told, no entry waiting."""
    by_id = {r["linkedid"]: r for r in seen["calls"]}
    for call in calls:
        row = by_id.get(call.truth.linkedid)
        if row is None or row["ended_at"] is None or row["outcome"] == "in_progress":
            return False
        heard = call.truth.variables.get("UIN")
        if heard and row["uin"] != heard:
            return False
    if any(e["outcome"] == "waiting" for e in seen["entries"]):
        return False
    return len(seen["tickets"]) >= sum(1 for c in calls if c.truth.variables.get("UIN"))


def _entry_differences(calls: list[Call], entries: list[Any], wait_tolerance_s: float) -> list[str]:
    """The calls whose queue entries the CRM holds otherwise than they were: another
    outcome, another whole-second wait (`HoldTime`), a wait more than the tolerance off."""
    recorded: dict[str, list[Any]] = {}
    for e in sorted(entries, key=lambda e: e["entry"]):
        recorded.setdefault(e["linkedid"], []).append(e)
    differences = []
    for call in calls:
        truth = [
            ("answered" if v.answered_at is not None else "abandoned", v.hold_time_field, v.wait_s)
            for v in call.truth.visits
        ]
        mine = [
            (e["outcome"], e["wait_whole_s"], e["wait_s"])
            for e in recorded.get(call.truth.linkedid, [])
        ]
        same = len(truth) == len(mine) and all(
            t[:2] == m[:2]
            and (t[2] is None) == (m[2] is None)
            and abs((t[2] or 0.0) - (m[2] or 0.0)) <= wait_tolerance_s
            for t, m in zip(truth, mine, strict=False)
        )
        if not same:
            differences.append(f"{call.truth.linkedid}: {truth} (truth) != {mine} (CRM)")
    return differences


def judge(
    fault: str,
    calls: list[Call],
    seen: dict[str, Any],
    settle_s: float,
    fault_s: float,
    *,
    excuse_agi_unreachable: bool = False,
    waits_from_records: bool = False,
) -> Row:
    """The row of `calls`; with `excuse_agi_unreachable`, callers whose AGI() found no
    server (the dialplan sends them on to the queue) need no UIN and no ticket, and every
    other check holds for them."""
    by_id = {r["linkedid"]: r for r in seen["calls"]}
    per_phone = Counter(_digits(t["caller_phone"])[-11:] for t in seen["tickets"])
    visits = Counter({c.truth.linkedid: len(c.truth.visits) for c in calls})
    recorded_entries = Counter(e["linkedid"] for e in seen["entries"])
    duplicates = sum(n - 1 for n in per_phone.values() if n > 1) + sum(
        max(0, n - visits[linkedid]) for linkedid, n in recorded_entries.items()
    )
    in_progress = sum(
        1 for r in seen["calls"] if r["ended_at"] is None or r["outcome"] == "in_progress"
    ) + sum(1 for e in seen["entries"] if e["outcome"] == "waiting")
    heard = [c for c in calls if c.truth.variables.get("UIN")]
    apologies = sum(1 for c in calls if any(APOLOGY in cmd for cmd in c.truth.agi_commands))
    crm_entries = [
        EntryOutcome(
            e["queue"],
            e["outcome"],
            e["wait_s"],
            e["wait_whole_s"],
            completed=e["completed_at"] is not None,
        )
        for e in seen["entries"]
        if e["outcome"] != "waiting"
    ]
    row = Row(
        fault=fault,
        truth_calls=len(calls),
        crm_calls=len(by_id),
        tickets=len(seen["tickets"]),
        calls_with_ticket=sum(1 for r in seen["calls"] if r["uin"] is not None),
        in_progress=in_progress,
        duplicates=duplicates,
        uin_heard=len(heard),
        uin_is_the_ticket=sum(
            1
            for c in heard
            if (by_id.get(c.truth.linkedid) or {}).get("uin") == c.truth.variables["UIN"]
        ),
        apologies=apologies,
        no_uin=len(calls) - len(heard) - apologies,
        agi_unreachable=sum(1 for c in calls if c.truth.agi_status == "FAILURE"),
        sl_truth=_figures(_truth_entries(calls)),
        sl_crm=_figures(crm_entries),
        settle_s=round(settle_s, 1),
        fault_s=round(fault_s, 1),
    )
    # Callers the AGI server's kill left without the whole dialogue: no server to take
    # them, or their session cut before its end (the menu after the UIN). Each may or
    # may not have a ticket and a UIN; what they have must agree, and they are counted.
    excused = {
        c.truth.linkedid
        for c in calls
        if excuse_agi_unreachable
        and (
            c.truth.agi_status == "FAILURE" or not any(MENU in cmd for cmd in c.truth.agi_commands)
        )
    }
    row.agi_cut = len(excused) - row.agi_unreachable if excused else 0
    if row.truth_calls != row.crm_calls or row.tickets != row.calls_with_ticket:
        row.problems.append(
            f"calls {row.truth_calls} (truth) / {row.crm_calls} (CRM) / {row.tickets} tickets"
            f" / {row.calls_with_ticket} calls with a ticket"
        )
    unticketed = [
        c.truth.linkedid
        for c in calls
        if c.truth.linkedid not in excused
        and (by_id.get(c.truth.linkedid) or {}).get("uin") is None
    ]
    if unticketed:
        row.problems.append(f"{len(unticketed)} calls without a ticket: {unticketed[:5]}")
    unheard = [
        c.truth.linkedid
        for c in calls
        if c.truth.linkedid not in excused and not c.truth.variables.get("UIN")
    ]
    if unheard or row.uin_is_the_ticket != row.uin_heard:
        row.problems.append(
            f"{row.uin_heard} of {row.truth_calls} heard a UIN, {row.uin_is_the_ticket} of"
            f" them their call's ticket; {row.apologies} apologies, {row.no_uin} nothing"
        )
    # Asterisk's own figures (whole-second waits) equal at all times; Hotline's `sl` (the
    # float waits) too, but where the waits come from Asterisk's record (see `Fault`).
    compared = [k for k in SL_KEYS if k != "sl" or not waits_from_records]
    if any(row.sl_truth[k] != row.sl_crm[k] for k in compared):
        row.problems.append(f"service level {row.sl_crm} (CRM) != {row.sl_truth} (truth)")
    differences = _entry_differences(calls, seen["entries"], 1.0 if waits_from_records else 0.05)
    if differences:
        row.problems.append(f"{len(differences)} calls' queue waits differ")
        row.problems += differences[:5]
    return row


async def run_phase(
    stack: Stack,
    phase: int,
    fault: Fault,
    *,
    rate_per_s: float = 1.0,
    before_s: float = 3.0,
    after_s: float = 3.0,
    settle_s: float = 30.0,
) -> Row:
    """Callers ring at `rate_per_s` around `fault`; the row of what Hotline kept."""
    calls: list[Call] = []
    stop = asyncio.Event()

    async def ring() -> None:
        n = 0
        while not stop.is_set():
            number = f"7900{phase:02d}{n:05d}"
            calls.append(
                stack.sim.place_call(
                    number, f"Caller {phase}-{n}", patience_s=PATIENCE_S[n % 3], dtmf="3"
                )
            )
            n += 1
            try:
                await asyncio.wait_for(stop.wait(), 1 / rate_per_s)
            except TimeoutError:
                pass

    ringing = asyncio.create_task(ring(), name=f"callers-{fault.name}")
    try:
        await asyncio.sleep(before_s)  # the steady traffic before the fault
        fault_started = time.monotonic()
        await fault.do(stack)
        fault_s = time.monotonic() - fault_started
        await asyncio.sleep(after_s)
    finally:
        stop.set()
        await ringing

    async def all_ended() -> bool:
        return all(c.truth.ended_at is not None for c in calls)

    await until(all_ended, 120, f"{fault.name}: the simulated calls' end")
    settling = time.monotonic()
    seen: dict[str, Any] = {}

    async def settled() -> bool:
        seen.update(await _recorded(stack, calls))
        return _settled(calls, seen)

    try:
        await until(settled, settle_s, f"{fault.name}: Hotline settled", step_s=0.5)
    except TimeoutError:
        pass  # the row says what is missing
    seen.update(await _recorded(stack, calls))
    return judge(
        fault.name,
        calls,
        seen,
        time.monotonic() - settling,
        fault_s,
        excuse_agi_unreachable=fault.excuse_agi_unreachable,
        waits_from_records=fault.waits_from_records,
    )


# -- the faults ---------------------------------------------------------------------------


def restart_redis(down_s: float) -> Fault:
    async def do(stack: Stack) -> None:
        await asyncio.to_thread(stack.redis.stop)
        await asyncio.sleep(down_s)
        stack.redis.start()
        await stack.redis.ready()

    return Fault("redis restarted", do)


def restart_postgres(down_s: float) -> Fault:
    async def do(stack: Stack) -> None:
        await asyncio.to_thread(stack.postgres.stop, "fast")
        await asyncio.sleep(down_s)
        await asyncio.to_thread(stack.postgres.start)

    return Fault("postgresql restarted", do)


def crm_down(down_s: float) -> Fault:
    async def do(stack: Stack) -> None:
        stack.crm.kill()
        await asyncio.sleep(down_s)
        stack.crm.start()
        await stack.crm_ready()

    return Fault(f"crm killed for {down_s:g} s", do)


def no_fault() -> Fault:
    """The baseline: the same steady traffic, nothing broken."""

    async def do(stack: Stack) -> None:
        return None

    return Fault("none (baseline)", do)


def restart_tracker(down_s: float) -> Fault:
    async def do(stack: Stack) -> None:
        stack.tracker.kill()
        await asyncio.sleep(down_s)
        stack.tracker.start()
        await stack.tracker.ready("AMI resync")

    return Fault("tracker killed and restarted", do, waits_from_records=True)


def restart_agi() -> Fault:
    async def do(stack: Stack) -> None:
        stack.agi.kill()
        stack.agi.start()
        await stack.agi.ready("FastAGI listening")

    return Fault("agi server killed", do, excuse_agi_unreachable=True)


def cut_ami() -> Fault:
    async def do(stack: Stack) -> None:
        before = stack.tracker.this_start().count("AMI resync")
        assert stack.drop_ami() >= 1, "no AMI client to cut"

        async def resynced() -> bool:
            return stack.tracker.this_start().count("AMI resync") > before

        await until(resynced, 30, "the tracker's reconnection")

    return Fault("ami connection cut", do, waits_from_records=True)
