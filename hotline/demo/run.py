"""`hotline demo`: all of Hotline in one process, on embedded defaults, against a simulated PBX.

SQLite (a temporary file unless told), an in-process Redis stand-in (fakeredis), the CRM
API served by uvicorn, the FastAGI server that registers each caller's ticket, the tracker
and the recorder reading AMI, and a simulated Asterisk 22 whose dialplan calls the AGI
server, running a busy hour on its virtual clock. At the end the figures Hotline recorded
are set beside the simulator's ground truth for the same calls.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import secrets
import signal
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

from asterisksim import SimConfig, SimulatedAsterisk
from core.settings import Settings
from hotline.asgi import DetachedASGITransport
from hotline.demo.report import DemoReport, LiveLine, build_report
from hotline.demo.stack import (
    EmbeddedRedisServer,
    demo_settings,
    demo_tokens,
    free_port,
    simulated_site,
    sounds_dir,
)
from hotline.demo.traffic import (
    HOUR_S,
    BusyHour,
    BusyHourTraffic,
    KeepCalling,
    SteadyHours,
    SteadyTraffic,
)
from hotline.serve import serving

log = logging.getLogger(__name__)
STEP_S = 60.0  # simulated seconds between two looks at the figures
DRAIN_TIMEOUT_S = 60.0
MAX_OVERTIME_S = 4 * 3600.0  # after the last caller rings, time for everyone to finish
ORPHAN_AFTER_S = 24 * 3600.0
SHM = "/dev/shm"
SWITCH_INTERVAL_S = 0.0002
# The recorder is on no caller's path: fuller reads, less work per fact (a call's facts
# in one read are one UPDATE of its row). 2,000 calls: ~6 s less CPU than with 0.1 s.
RECORDER_LINGER_S = 1.0
# The demo's screen pops reach no agent desk (nobody listens on the demo's channels), so
# their reads linger longer and carry more facts: 2,000 calls take ~10 % less wall time
# than with 0.1 s. `hotline tracker` reads them without lingering.
SCREEN_POPS_LINGER_S = 0.5
DEFAULT_AHT_S = 180.0  # --rate's talk time when --aht is not given
DEFAULT_PATIENCE_S = 75.0  # the busy hour's mean patience
MAX_RATE_PER_HOUR = 20_000.0
MAX_HOURS = 168.0
# --keep: the simulator's clock starts this long before the wall clock's now plus the
# traffic's hours, so that when the hour is over the model's time can catch up with the
# wall clock and follow it (the pages' "today" and "last 15 minutes" are the run's).
KEEP_LEAD_S = 15 * 60.0
KEEP_STEP_S = 0.5  # --keep: real seconds between two moves of the simulator's clock
# --keep: the people the demo makes, with passwords generated per run (never stored).
KEEP_SUPERVISOR = "demo-supervisor"
KEEP_AGENT = "demo-agent"
KEEP_AGENT_MEMBER = "agent1"  # the busy hour's first agent


@dataclass
class DemoOptions:
    calls: int = 300
    agents: int | None = None  # None: enough for the calls (BusyHour.agents_for)
    seed: int = 1
    speed: float | None = 60.0  # simulated seconds per real second; None: as fast as possible
    database_url: str | None = None  # None: SQLite in a temporary folder
    host: str = "127.0.0.1"
    port: int = 0  # the API's port; 0: a free one
    live_lines: int = 6  # live figures printed over the run
    # Steady traffic instead of the busy hour: Poisson callers at `rate` per hour for
    # `hours`, exponential talk times of mean `aht_s` and patience of mean `patience_s`.
    rate: float | None = None
    aht_s: float | None = None  # default DEFAULT_AHT_S
    patience_s: float | None = None  # default DEFAULT_PATIENCE_S
    hours: float | None = None  # default 1
    # After the hour the stack stays up (API, pages, the simulator following the wall
    # clock) until SIGINT/SIGTERM; `keep_calling`: callers go on arriving at the hour's rate.
    keep: bool = False
    keep_calling: bool = False

    def __post_init__(self) -> None:
        if self.calls < 1:
            raise ValueError("--calls must be at least 1")
        if self.keep_calling and not self.keep:
            raise ValueError("--keep-calling goes with --keep")
        steady = (self.aht_s, self.patience_s, self.hours)
        if self.rate is None and any(value is not None for value in steady):
            raise ValueError("--aht, --patience and --hours go with --rate")
        if self.rate is not None and not 0 < self.rate <= MAX_RATE_PER_HOUR:
            raise ValueError(f"--rate must be above 0 and at most {MAX_RATE_PER_HOUR} calls/h")
        for flag, value in (("--aht", self.aht_s), ("--patience", self.patience_s)):
            if value is not None and value <= 0:
                raise ValueError(f"{flag} must be a positive number of seconds")
        if self.hours is not None and not 0 < self.hours <= MAX_HOURS:
            raise ValueError(f"--hours must be above 0 and at most {MAX_HOURS}")
        if self.agents is not None and self.agents < 1:
            raise ValueError("--agents must be at least 1")
        if self.speed is not None and self.speed <= 0:
            raise ValueError("--speed must be a positive number or 'max'")


def parse_speed(text: str) -> float | None:
    """`max` or a positive factor (simulated seconds per real second)."""
    if text.strip().lower() == "max":
        return None
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"--speed: expected a number or 'max', got {text!r}") from None
    if value <= 0:
        raise ValueError("--speed must be a positive number or 'max'")
    return value


def _migrate(database_url: str) -> None:
    from crm.migrate import upgrade

    upgrade(database_url)


ReportReady = Callable[[DemoReport, dict[str, Any]], None]


async def run_demo(
    options: DemoOptions,
    say: Callable[[str], None] = print,
    ready: ReportReady | None = None,
    tell: Callable[[str], None] | None = None,
) -> tuple[DemoReport, dict[str, Any]]:
    """Run the whole demo; returns the report and the truth-checked summary.

    `ready` gets them as soon as they are known (with `--keep`, before the stack goes on
    serving); `tell` prints `--keep`'s URLs and logins (default: `say`)."""
    # Every SQL statement is a hand-over to aiosqlite's thread and back. With the event loop
    # busy, each hand-back waited up to the interpreter's 5 ms switch interval, on the path
    # of every caller's ticket (while the simulator waits for the AGI's answer).
    switch_s = sys.getswitchinterval()
    sys.setswitchinterval(SWITCH_INTERVAL_S)
    try:
        return await _run_demo(options, say, ready, tell or say)
    finally:
        sys.setswitchinterval(switch_s)


async def _run_demo(
    options: DemoOptions,
    say: Callable[[str], None],
    ready: ReportReady | None,
    tell: Callable[[str], None],
) -> tuple[DemoReport, dict[str, Any]]:
    from callqueue.service import TrackerService
    from core.ami.manager import AmiManager
    from core.context.store import CallContextStore
    from crm.db import make_engine, make_sessionmaker
    from hotline.bootstrap import create_app
    from hotline.bootstrap.agi import AgiService
    from hotline.bootstrap.tracker import build_recorder, build_screen_pops
    from ivr.catalogue import all_sound_files

    started = time.perf_counter()
    # A memory-backed folder when there is one: a disk's fsync per commit (each ticket,
    # each batch of the recorder) would dominate the run.
    tmp_parent = SHM if await asyncio.to_thread(Path(SHM).is_dir) else None
    with tempfile.TemporaryDirectory(prefix="hotline-demo-", dir=tmp_parent) as tmp:
        database_url = options.database_url or f"sqlite+aiosqlite:///{Path(tmp) / 'hotline.db'}"
        await asyncio.to_thread(_migrate, database_url)
        embedded = EmbeddedRedisServer()
        tokens = demo_tokens()
        port = options.port or free_port(options.host)
        ami_port, agi_port = free_port(), free_port()
        settings = demo_settings(database_url, port, "127.0.0.1", ami_port, tokens, agi_port)
        # The simulator runs the project's own rendered queues.conf and dialplan (the
        # hotline AGI, the survey after the agent hangs up, the transfer context), and
        # plays every sound for as long as the site's file lasts.
        config = SimConfig(
            port=ami_port,
            timestampevents=True,
            channelvars=("UIN", "TICKET_ID", "TRANSFER_COUNT"),
            prompts=frozenset(all_sound_files()),
            **simulated_site(settings),
            **_keep_start(options),
        )
        async with SimulatedAsterisk(config) as sim:
            # The temporary file is the demo's alone: its statements run on the loop's
            # thread (no hand-over to aiosqlite's thread and back for each one).
            own_file = options.database_url is None
            app = create_app(
                settings,
                redis_factory=embedded.client,
                engine_factory=partial(make_engine, inline_sqlite=own_file),
            )
            async with serving(app, options.host, port):
                say(f"CRM API on http://{options.host}:{port}/docs (SQLite: {database_url})")
                for role, token in tokens.items():
                    say(f"  {role:<10} token: {token}")
                # The AGI server only sends actions (agent log-in, pause): asking for no
                # events spares it parsing the whole event flow.
                ami = AmiManager(settings.ami, event_mask="off")
                ami.connect()
                agi = AgiService(
                    settings,
                    sounds_dir=sounds_dir(),
                    clock=lambda: datetime.fromtimestamp(sim.now(), UTC),
                    ami=ami,
                    # The same app uvicorn serves, called in-process: a ticket per caller
                    # without a TCP round trip and HTTP parsing on the AGI's critical path.
                    crm_transport=DetachedASGITransport(app=app),
                    redis_factory=embedded.client,
                )
                await agi.start()
                redis = embedded.client()
                tracker = TrackerService(settings, redis, clock=sim.now, keep_finished=True)
                # The API's own engine: on SQLite one connection for the whole process,
                # so the recorder and the callers' tickets take turns (crm.db).
                engine = app.state.engine
                sessions = make_sessionmaker(engine)
                settle_late = [0.0]  # moved on at the end, when every fact is recorded
                recorder = build_recorder(
                    settings,
                    redis,
                    sessions,
                    clock=lambda: datetime.fromtimestamp(sim.now() + settle_late[0], UTC),
                    # The virtual clock runs far ahead of the recorder's reading: a call
                    # is not orphaned while its `ticketed` fact is still further down the
                    # stream. Anything left without a ticket is settled at the end.
                    orphan_after_s=ORPHAN_AFTER_S,
                )
                screen_pops = build_screen_pops(settings, redis)
                stop = asyncio.Event()
                tasks = [
                    asyncio.create_task(tracker.run(stop), name="tracker"),
                    asyncio.create_task(
                        recorder.run(stop, block_ms=200, linger_s=RECORDER_LINGER_S),
                        name="recorder",
                    ),
                    asyncio.create_task(
                        screen_pops.run(stop, block_ms=200, linger_s=SCREEN_POPS_LINGER_S),
                        name="screen-pops",
                    ),
                ]
                try:
                    await asyncio.wait_for(tracker.resynced.wait(), 10)
                    with _startup_frozen():
                        traffic = await _run_hour(options, sim, tracker, say, settings)
                    await asyncio.wait_for(tracker.manager.send_action({"Action": "Ping"}), 30)
                    await tracker.outbox.drained(DRAIN_TIMEOUT_S)
                    await agi.outbox.drained(DRAIN_TIMEOUT_S)
                    await _recorder_caught_up(recorder, redis)
                    settle_late[0] = ORPHAN_AFTER_S
                    await recorder.settle_orphans()  # calls that never got a ticket, if any
                    report = await build_report(
                        engine,
                        tracker,
                        sim,
                        traffic,
                        settings.sl,
                        time.perf_counter() - started,
                        refused=await CallContextStore(redis, settings.redis.keys).refused_total(),
                    )
                    if ready is not None:
                        ready(report, report.summary())
                    if options.keep:
                        settle_late[0] = 0.0  # the calls still to come are not orphans
                        url = f"http://{options.host}:{port}"
                        await _keep(options, sim, app, traffic, url, tell)
                finally:
                    stop.set()
                    await asyncio.wait(tasks, timeout=15)
                    await agi.stop()
                    await redis.aclose()
        return report, report.summary()


async def _run_hour(
    options: DemoOptions,
    sim: SimulatedAsterisk,
    tracker: Any,
    say: Callable[[str], None],
    settings: Settings | None = None,
) -> BusyHourTraffic | SteadyTraffic:
    speed = "max" if options.speed is None else f"x{options.speed:g}"
    traffic: BusyHourTraffic | SteadyTraffic
    if options.rate is not None:
        steady = steady_hours(options, settings or Settings())
        planned = "" if options.agents else " (the staffing planner's)"
        traffic = SteadyTraffic(sim, steady)
        start_s = sim.now()
        last_call_s = traffic.schedule()
        say(
            f"steady traffic: {steady.rate_per_hour:g} calls/h (Poisson) for {steady.hours:g} h,"
            f" {traffic.total} calls, talk {steady.aht_s:g} s, patience {steady.patience_s:g} s"
            f" (exponential), {steady.agents} agents{planned},"
            f" seed {options.seed}, speed {speed}"
        )
        total = traffic.total
    else:
        agents = options.agents or BusyHour.agents_for(options.calls)
        traffic = BusyHourTraffic(
            sim, BusyHour(calls=options.calls, agents=agents, seed=options.seed)
        )
        start_s = sim.now()
        last_call_s = traffic.schedule()
        say(
            f"a busy hour: {options.calls} calls, {agents} agents, seed {options.seed},"
            f" speed {speed}"
        )
        total = options.calls
    live = LiveLine(tracker, traffic, max(1, total))  # type: ignore[arg-type]
    every = max(1, round((last_call_s - start_s) / STEP_S / max(1, options.live_lines)))
    wall_start, step = time.perf_counter(), 0
    while True:
        step += 1
        target_s = start_s + step * STEP_S
        await sim.run_until(target_s)
        if options.speed is not None:
            # Pace the virtual clock: simulated time never runs ahead of speed x real time.
            ahead_s = (target_s - start_s) / options.speed - (time.perf_counter() - wall_start)
            if ahead_s > 0:
                await asyncio.sleep(ahead_s)
        finished = traffic.counts.placed == total and all(
            c.truth.ended_at is not None for c in traffic.calls
        )
        if step % every == 0 or finished:
            say(live.render(sim.now() - start_s))
        if finished or sim.now() > last_call_s + MAX_OVERTIME_S:
            return traffic


@contextmanager
def _startup_frozen() -> Iterator[None]:
    """The objects made so far (the modules, the app, the stack) out of the collector's
    way while the hour runs: each full collection walked them all again (2,000 calls: 12
    full collections, 1.9 s, half of it theirs). They are handed back afterwards."""
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def _keep_start(options: DemoOptions) -> dict[str, float]:
    """With `--keep`, the simulator's clock starts far enough before now that the hour is
    over by the wall clock's now (or soon after); otherwise its fixed start (one seed,
    one run, whatever the day)."""
    if not options.keep:
        return {}
    hours = options.hours or 1.0  # given only with --rate
    return {"start_s": time.time() - hours * HOUR_S - KEEP_LEAD_S}


async def _keep(
    options: DemoOptions,
    sim: SimulatedAsterisk,
    app: Any,
    traffic: BusyHourTraffic | SteadyTraffic,
    base_url: str,
    tell: Callable[[str], None],
) -> None:
    """`--keep`: a supervisor and an agent with fresh passwords, the URLs printed, then the
    simulator's clock follows the wall clock (callers still arriving with `keep_calling`)
    until SIGINT or SIGTERM."""
    people = app.state.people
    supervisor_password, agent_password = secrets.token_urlsafe(12), secrets.token_urlsafe(12)
    await people.ensure_person(
        KEEP_SUPERVISOR, supervisor_password, "supervisor", full_name="Demo Supervisor"
    )
    await people.ensure_person(
        KEEP_AGENT,
        agent_password,
        "agent",
        full_name="Demo Agent",
        agent_member=KEEP_AGENT_MEMBER,
    )
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    handled = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, stopping.set)
            handled.append(sig)
        except (NotImplementedError, RuntimeError):  # not on this platform or thread
            pass
    calling: KeepCalling | None = None
    doing = "no new callers"
    try:
        # The hour's model time catches up with the wall clock first (nothing is due).
        await sim.run_until(max(sim.now(), time.time()))
        if options.keep_calling:
            rate = options.rate if options.rate is not None else float(options.calls)
            calling = KeepCalling(traffic, rate)
            calling.start()
            doing = f"callers arriving, {rate:g} an hour"
        tell(f"the demo keeps running ({doing}); Ctrl-C ends it")
        tell(f"  wallboard:  {base_url}/wallboard")
        tell(f"  agent desk: {base_url}/desk")
        tell(f"  API docs:   {base_url}/docs")
        tell(f"  log in at {base_url}/login as")
        tell(f"    supervisor {KEEP_SUPERVISOR}  password {supervisor_password}")
        tell(f"    agent      {KEEP_AGENT}  password {agent_password}  ({KEEP_AGENT_MEMBER})")
        while not stopping.is_set():
            await sim.run_until(max(sim.now(), time.time()))
            try:
                await asyncio.wait_for(stopping.wait(), KEEP_STEP_S)
            except TimeoutError:
                pass
        tell("stopping")
    finally:
        if calling is not None:
            calling.stop()
        for sig in handled:
            loop.remove_signal_handler(sig)


def steady_hours(options: DemoOptions, settings: Settings) -> SteadyHours:
    """The steady load of `--rate`; its agents, unless given, are the staffing planner's
    for the settings' target (HOTLINE_STAFFING_TARGET_PCT within HOTLINE_SL_THRESHOLD_S)."""
    from crm.staffing.erlang import Load, agents_needed

    rate = options.rate or 0.0
    aht_s = options.aht_s or DEFAULT_AHT_S
    patience_s = options.patience_s or DEFAULT_PATIENCE_S
    agents = options.agents
    if agents is None:
        sl, staffing = settings.sl, settings.staffing
        load = Load(rate / 3600, aht_s, patience_s)
        target = staffing.staffing_target_pct / 100
        agents = agents_needed(load, target, sl.threshold_s, sl.short_abandon_s).agents
    return SteadyHours(
        rate_per_hour=rate,
        aht_s=aht_s,
        patience_s=patience_s,
        hours=options.hours or 1.0,
        agents=agents,
        seed=options.seed,
    )


async def _recorder_caught_up(
    recorder: Any, redis: Any, stalled_s: float = DRAIN_TIMEOUT_S
) -> None:
    """Wait until the recorder has handled every fact on the stream.

    The recorder may be far behind at the end of a fast run; only a recorder that makes
    no progress for `stalled_s` is an error.
    """
    last_done, deadline = -1, 0.0
    while True:
        groups = await redis.xinfo_groups(recorder.stream)
        mine = [g for g in groups if g["name"] in (recorder.group, recorder.group.encode())]
        if (
            mine
            and not mine[0]["pending"]
            and mine[0]["last-delivered-id"] == await _last_id(redis, recorder.stream)
        ):
            return
        done = recorder.stats.applied + recorder.stats.duplicates + recorder.stats.dead
        if done != last_done:
            last_done, deadline = done, time.monotonic() + stalled_s
        elif time.monotonic() > deadline:
            raise TimeoutError("the recorder stopped catching up with the fact stream")
        # the recorder has no "caught up" event to wait on; a short, bounded look-again
        await asyncio.sleep(0.05)


async def _last_id(redis: Any, stream: str) -> Any:
    last = await redis.xrevrange(stream, count=1)
    return last[0][0] if last else b"0-0"
