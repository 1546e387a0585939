"""One scripted scenario through the real Asterisk and through `asterisksim`, and their
queue-level stories side by side (tests/asterisk/test_sim_vs_real.py).

A `Scenario` says who logs in when (answer delay, talk time) and who calls when (patience,
when they hang up, a Redirect or an AMI BlindTransfer after the agent answers). `run_real`
plays it with the harness's phones on a real instance; `run_sim` plays the same on a
`SimulatedAsterisk` built from the same rendered config (`asterisksim.site`), on its
virtual clock. Both callers run the project's own AGI routes (each side its own fresh
`hotline agi` and `hotline crm`, so caller k gets the same UIN on both and hears the same
digits). `stories` turns either AMI record into, per caller, the queue events in order
with the headers that matter; `differences` compares two of them.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from asterisksim import SimConfig, SimulatedAsterisk
from asterisksim.frames import Event
from tests.asterisk.ami import Frame, HarnessAmi, parse_frame
from tests.asterisk.harness import CALL_TIMEOUT_S, Caller, Line

QUEUE_EVENTS = (
    "QueueCallerJoin",
    "AgentCalled",
    "AgentRingNoAnswer",
    "AgentConnect",
    "AgentComplete",
    "QueueCallerAbandon",
    "QueueCallerLeave",
    "BlindTransfer",
)
# Compared exactly; HoldTime and TalkTime within `TOLERANCE_S` (whole seconds of two clocks).
EXACT = ("Queue", "MemberName", "Position", "OriginalPosition", "Reason", "Context", "Extension")
WITHIN = ("HoldTime", "TalkTime")
TOLERANCE_S = 1
QUEUE_FIGURES = ("Completed", "Abandoned", "ServicelevelPerf", "ServicelevelPerf2")
TARGETS = ("hotline-targets", "300")  # the project's dialplan: 300 is Queue(support)


@dataclass(frozen=True)
class AgentPlan:
    name: str
    answer_s: float
    talk_s: float | None = None  # None: talks until the caller hangs up
    queue: str = "hotline"
    login_at_s: float = 0.0


@dataclass(frozen=True)
class CallerPlan:
    at_s: float
    patience_s: float | None = None  # hangs up this long after joining, if not answered
    hang_up_after_s: float | None = None  # after the last agent answered
    redirect_after_s: float | None = None  # AMI Redirect of the caller to 300
    blind_after_s: float | None = None  # AMI BlindTransfer of the agent's channel to 300


@dataclass(frozen=True)
class Scenario:
    name: str
    agents: tuple[AgentPlan, ...]
    callers: tuple[CallerPlan, ...]
    # HoldTime/TalkTime tolerance (s); see TOLERATED's "whole-second cascade".
    tolerance_s: int = TOLERANCE_S


@dataclass
class Run:
    """What one side said: every frame, the callers' Linkedids in call order, QueueParams."""

    frames: list[Frame]
    linkedids: list[str]
    params: dict[str, Frame] = field(default_factory=dict)
    transfer_gaps_s: list[float] = field(default_factory=list)  # action reply -> event
    started_at: float = 0.0  # epoch seconds of the scenario's start


def _number(k: int) -> str:
    return f"7900000{k:04d}"


# -- the real side --------------------------------------------------------------------------


async def run_real(line: Line, scenario: Scenario) -> Run:
    start, started_at = time.monotonic(), time.time()
    callers: list[Caller | None] = [None] * len(scenario.callers)
    gaps: list[float] = []

    async def at(offset_s: float) -> None:
        await asyncio.sleep(max(0.0, start + offset_s - time.monotonic()))

    async def agent(plan: AgentPlan) -> None:
        await at(plan.login_at_s)
        await line.add_agent(
            plan.name, answer_s=plan.answer_s, talk_s=plan.talk_s, queue=plan.queue
        )

    async def caller(k: int, plan: CallerPlan) -> None:
        await at(plan.at_s)
        me = await line.call(_number(k), f"Caller {k}")
        callers[k] = me
        await line.event("QueueCallerJoin", me)
        try:
            connect = await line.event(
                "AgentConnect", me, timeout_s=plan.patience_s or CALL_TIMEOUT_S
            )
        except TimeoutError:
            await line.hang_up(me)
            await _ended(line, me)
            return
        if plan.redirect_after_s is not None:
            await asyncio.sleep(plan.redirect_after_s)
            await line.ami.action(
                "Redirect", Channel=me.channel, Context=TARGETS[0], Exten=TARGETS[1], Priority="1"
            )
            connect = await line.event("AgentConnect", me, Queue="support")
        if plan.blind_after_s is not None:
            await asyncio.sleep(plan.blind_after_s)
            reply = await line.ami.action(
                "BlindTransfer",
                Channel=connect["DestChannel"],
                Context=TARGETS[0],
                Exten=TARGETS[1],
            )
            event = await line.ami.wait_for(
                lambda f: f.event == "BlindTransfer" and f.get("TransfereeLinkedid") == me.linkedid,
                timeout_s=10,
            )
            gaps.append(event.at - reply.at)
            await line.event("AgentConnect", me, Queue="support")
        if plan.hang_up_after_s is not None:
            await asyncio.sleep(plan.hang_up_after_s)
            await line.hang_up(me)
        await _ended(line, me)

    # Agents in the plan's order, one after another: fewestcalls breaks a tie by the order
    # the members were added (the simulator logs them in in that order too).
    for plan in scenario.agents:
        if plan.login_at_s <= 0:
            await agent(plan)
    await asyncio.gather(
        *(agent(a) for a in scenario.agents if a.login_at_s > 0),
        *(caller(k, c) for k, c in enumerate(scenario.callers)),
    )
    params = await queue_params(line.ami)
    linkedids = [c.linkedid for c in callers if c]
    return Run(list(line.ami.frames), linkedids, params, gaps, started_at)


async def _ended(line: Line, caller: Caller) -> None:
    """The caller's dialplan half hangs up: the call is over (survey included)."""
    await line.ami.wait_for(
        lambda f: f.event == "Hangup" and f.get("Channel") == caller.channel,
        timeout_s=CALL_TIMEOUT_S,
    )


async def queue_params(ami: HarnessAmi) -> dict[str, Frame]:
    params = {}
    for queue in ("hotline", "support"):
        action_id = await ami.send("QueueStatus", Queue=queue)
        params[queue] = await ami.wait_for(
            lambda f, a=action_id: f.event == "QueueParams" and f.get("ActionID") == a,
            timeout_s=10,
        )
    return params


# -- the simulated side -------------------------------------------------------------------


async def run_sim(config: SimConfig, scenario: Scenario, max_s: float = 3600) -> Run:
    """The scenario on the simulator, from `config.start_s`. app_queue works on whole
    seconds (HoldTime, TalkTime, the end of a wrap-up), so a run compared with a real one
    starts at the same epoch second and fraction (`Run.started_at`)."""
    async with SimulatedAsterisk(config) as sim:
        ami = await HarnessAmi.connect(sim.port, config.username, config.secret)
        try:
            return await _play(sim, ami, scenario, max_s)
        finally:
            await ami.close()


async def _play(sim: SimulatedAsterisk, ami: HarnessAmi, scenario: Scenario, max_s: float) -> Run:
    clock, pbx, start = sim.clock, sim.pbx, sim.now()
    calls: dict[int, Any] = {}
    by_linkedid: dict[str, int] = {}
    connects: dict[int, int] = {}

    def login(plan: AgentPlan) -> None:
        sim.add_agent(plan.name, plan.queue, answer_delay_s=plan.answer_s, talk_s=plan.talk_s)

    def place(k: int, plan: CallerPlan) -> None:
        calls[k] = call = sim.place_call(_number(k), f"Caller {k}", patience_s=plan.patience_s)
        by_linkedid[call.truth.linkedid] = k

    def transfer_blind(k: int) -> None:
        call = calls[k]
        if call.leg is not None:
            pbx.blind_transfer(call.leg.one.name, *TARGETS)

    def on_connect(k: int) -> None:
        plan, call = scenario.callers[k], calls[k]
        connects[k] = n = connects.get(k, 0) + 1
        if n == 1 and plan.redirect_after_s is not None:
            clock.call_later(plan.redirect_after_s, pbx.redirect, call.two.name, *TARGETS)
        elif n == 1 and plan.blind_after_s is not None:
            clock.call_later(plan.blind_after_s, transfer_blind, k)
        elif plan.hang_up_after_s is not None:
            clock.call_later(plan.hang_up_after_s, pbx.caller_hangup, call)

    def watch(event: Event) -> None:
        if event.name != "AgentConnect":
            return
        for line in event.tail.split(b"\r\n"):
            if line.startswith(b"Linkedid: "):
                k = by_linkedid.get(line[10:].decode())
                if k is not None:
                    on_connect(k)
                return

    pbx.sinks.append(watch)
    for plan in scenario.agents:
        clock.call_at(start + plan.login_at_s, login, plan)
    for k, plan in enumerate(scenario.callers):
        clock.call_at(start + plan.at_s, place, k, plan)
    last_s = start + max((c.at_s for c in scenario.callers), default=0.0)
    while sim.now() < start + max_s:
        await sim.run_for(5)
        if sim.now() > last_s and all(c.state == "gone" for c in calls.values()):
            break
    await sim.run_for(1)
    await asyncio.sleep(0.05)  # the harness's reader takes the last frames
    params = await queue_params(ami)
    linkedids = [calls[k].truth.linkedid for k in sorted(calls)]
    return Run(list(ami.frames), linkedids, params, started_at=start)


def recorded_run(path: Path, caller_prefix: str = "7900000") -> Run:
    """A run read back from what the harness's AMI session received (`<test>.ami.txt`):
    its frames, and the Linkedids of its callers (numbers from `caller_prefix`, `_number`'s
    by default) in the order of their numbers."""
    frames = [parse_frame(block) for block in path.read_bytes().split(b"\r\n\r\n")]
    frames = [frame for frame in frames if frame.headers]
    callers: dict[str, str] = {}
    for frame in frames:
        if frame.event == "QueueCallerJoin" and frame.get("CallerIDNum").startswith(caller_prefix):
            callers.setdefault(frame["CallerIDNum"], frame["Linkedid"])
    return Run(frames, [callers[number] for number in sorted(callers)])


# -- the stories ----------------------------------------------------------------------------

Step = dict[str, str]
AT = "_at"  # a step's Timestamp: not compared, it places the step among the other callers'
# Joins and leaves that change the queue's positions.
MOVES = ("QueueCallerJoin", "QueueCallerLeave")
POSITIONS = ("Position", "OriginalPosition")


def queue_frames(run: Run) -> Iterator[tuple[int, Frame]]:
    """The queue events (QUEUE_EVENTS) of the run's callers, each with its caller's index
    in call order. An AgentComplete without the caller's channel headers belongs to the
    open call of its queue and member (ringinuse=no: one call at a time per member):
    app_queue sends it so when the caller's channel is gone before its stasis router
    handles the hangup (a race of two threads; seen on a caller hanging up in the bridge,
    tests/fixtures/asterisk-tier/tracker-away-while-a-call-ends.ami.txt)."""
    index = {linkedid: k for k, linkedid in enumerate(run.linkedids)}
    open_calls: dict[tuple[str, str], int] = {}
    for frame in run.frames:
        name = frame.event
        if name not in QUEUE_EVENTS:
            continue
        linkedid = frame.get("TransfereeLinkedid") if name == "BlindTransfer" else None
        k = index.get(linkedid or frame.get("Linkedid"))
        key = (frame.get("Queue"), frame.get("MemberName"))
        if k is None and name == "AgentComplete":
            k = open_calls.get(key)
        if k is None:
            continue
        if name == "AgentConnect":
            open_calls[key] = k
        elif name == "AgentComplete":
            open_calls.pop(key, None)
        yield k, frame


def stories(run: Run) -> list[list[Step]]:
    """Per caller (in call order), the queue events of its call in order (`queue_frames`),
    each with its name and the headers of EXACT and WITHIN it carries."""
    told: list[list[Step]] = [[] for _ in run.linkedids]
    for k, frame in queue_frames(run):
        name = frame.event
        step = {"Event": name, AT: frame.get("Timestamp") or ""}
        step.update({h: frame.get(h) for h in EXACT + WITHIN if frame.get(h)})
        if name == "AgentComplete":
            step.pop("Context", None)  # a caller channel header, which some lack (above)
        told[k].append(step)
    return [_same_moment_completes_sorted(transferer_side_first(steps)) for steps in told]


TRANSFER_EVENTS = ("BlindTransfer", "AttendedTransfer")


def transferer_side_first(steps: list[Step]) -> list[Step]:
    """A transfer's own events (the transfer event and the AgentComplete of Reason transfer
    that closes the agent's queue call) before the transferred caller's first events in its
    new place. Asterisk publishes the transfer from the transferring agent's thread after it
    has sent the caller on, and the caller's channel runs its new dialplan (a Queue) on its
    own thread: its QueueCallerJoin and AgentCalled may come before the BlindTransfer or
    after it (seen both ways on the real Asterisk for the same scenario). Both orders are
    one story, and are compared in this one."""
    out = list(steps)
    for i, step in enumerate(steps):
        if step["Event"] != "AgentComplete" or step.get("Reason") != "transfer":
            continue
        queue = step.get("Queue")
        start = (
            max((j for j in range(i) if out[j].get("Queue") == queue), default=-1) + 1
        )  # just after the closed queue call's last step before this one
        # The transfer's own steps first, each side in its order (a stable sort).
        out[start : i + 1] = sorted(
            out[start : i + 1], key=lambda s: not (s is step or s["Event"] in TRANSFER_EVENTS)
        )
    return out


def _same_moment_completes_sorted(steps: list[Step]) -> list[Step]:
    """AgentCompletes that follow one another close the caller's queue calls at one moment
    (a caller redirected out of one queue's bridge hangs up in another's): Asterisk sends
    them in either order (each queue call has its own stasis subscription), so they are
    compared by queue."""
    out: list[Step] = []
    run: list[Step] = []
    for step in [*steps, {"Event": ""}]:
        if step["Event"] == "AgentComplete":
            run.append(step)
            continue
        out += sorted(run, key=lambda s: (s.get("Queue", ""), s.get("MemberName", "")))
        run = []
        if step["Event"]:
            out.append(step)
    return out


def differences(
    real: list[list[Step]], sim: list[list[Step]], tolerance_s: int = TOLERANCE_S
) -> list[str]:
    """Where the two stories differ, one line each ([] when they agree)."""
    found = []
    if len(real) != len(sim):
        found.append(f"{len(real)} callers on the real Asterisk, {len(sim)} in the simulator")
    for k, (mine, theirs) in enumerate(zip(real, sim, strict=False)):
        names = ([s["Event"] for s in mine], [s["Event"] for s in theirs])
        if names[0] != names[1]:
            found.append(f"caller {k}: events {names[0]} (real) != {names[1]} (sim)")
            continue
        for n, (a, b) in enumerate(zip(mine, theirs, strict=True)):
            where = f"caller {k} {a['Event']}#{n}"
            for header in EXACT:
                if a.get(header) == b.get(header):
                    continue
                if header in POSITIONS and a.get(header) and b.get(header):
                    # Another caller who joined or left within the tolerance of this step
                    # may be on either side of it on two clocks: one place each.
                    moves = max(
                        _moves_near(real, k, a, tolerance_s), _moves_near(sim, k, b, tolerance_s)
                    )
                    if abs(int(a[header]) - int(b[header])) <= moves:
                        continue
                found.append(f"{where} {header}: {a.get(header)} != {b.get(header)}")
            for header in WITHIN:
                if (header in a) != (header in b) or (
                    header in a and abs(int(a[header]) - int(b[header])) > tolerance_s
                ):
                    found.append(f"{where} {header}: {a.get(header)} != {b.get(header)}")
    return found


def _moves_near(told: list[list[Step]], k: int, step: Step, tolerance_s: int) -> int:
    """How many other callers joined or left `step`'s queue within `tolerance_s` of it."""
    if not step.get(AT):
        return 0
    at = float(step[AT])
    return sum(
        1
        for other, steps in enumerate(told)
        if other != k
        for s in steps
        if s["Event"] in MOVES
        and s.get("Queue") == step.get("Queue")
        and s.get(AT)
        and abs(float(s[AT]) - at) <= tolerance_s
    )


def queue_differences(real: Run, sim: Run) -> list[str]:
    found = []
    for queue, frame in real.params.items():
        for figure in QUEUE_FIGURES:
            if frame.get(figure) != sim.params[queue].get(figure):
                found.append(
                    f"{queue} {figure}: {frame.get(figure)} (real) != "
                    f"{sim.params[queue].get(figure)} (sim)"
                )
    return found


def ivr_seconds(run: Run) -> list[float | None]:
    """Per caller: from the answer of its dialplan half to QueueCallerJoin (the IVR)."""
    answered: dict[str, float] = {}
    joined: dict[str, float] = {}
    for frame in run.frames:
        linkedid = frame.get("Linkedid")
        if not frame.get("Timestamp") or linkedid not in run.linkedids:
            continue
        stamp = float(frame["Timestamp"])
        if (
            frame.event == "Newstate"
            and frame.get("ChannelStateDesc") == "Up"
            and frame.get("Channel", "").endswith(";2")
            and linkedid not in answered
        ):
            answered[linkedid] = stamp
        elif frame.event == "QueueCallerJoin" and linkedid not in joined:
            joined[linkedid] = stamp
    return [
        joined[i] - answered[i] if i in joined and i in answered else None for i in run.linkedids
    ]


def after_queue_seconds(run: Run) -> list[float | None]:
    """Per caller: from its last queue event (`queue_frames`: an AgentComplete without the
    caller's headers counts for its caller) to the end of its dialplan half (the survey
    when the agent hung up, nothing when the caller did; 0 when that AgentComplete comes
    after the caller's channel is gone)."""
    last: dict[str, float] = {}
    ended: dict[str, float] = {}
    for k, frame in queue_frames(run):
        if frame.get("Timestamp"):
            last[run.linkedids[k]] = float(frame["Timestamp"])
    for frame in run.frames:
        linkedid = frame.get("Linkedid")
        channel = frame.get("Channel", "")
        if (
            frame.event == "Hangup"
            and frame.get("Timestamp")
            and linkedid in run.linkedids
            and channel.startswith("Local/")
            and channel.endswith(";2")
            and "@hotline-in" in channel
        ):
            ended[linkedid] = float(frame["Timestamp"])
    return [
        max(0.0, ended[i] - last[i]) if i in ended and i in last else None for i in run.linkedids
    ]


def describe(told: list[list[Step]]) -> Callable[[], str]:
    """A readable dump for assertion messages."""

    def text() -> str:
        return "\n".join(
            f"{k}: "
            + ", ".join(
                s["Event"]
                + "("
                + ",".join(f"{h}={v}" for h, v in s.items() if h not in ("Event", AT))
                + ")"
                for s in steps
            )
            for k, steps in enumerate(told)
        )

    return text
