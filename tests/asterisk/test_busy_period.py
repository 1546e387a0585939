"""A busy period on the real Asterisk: 30 callers, four agents, waits past the service level.

Thirty callers dial within ~9 s and go through the project's whole IVR into
`Queue(hotline)`; four agents answer after 1-5 s of ringing, talk 2 s, then have the
queue's wrap-up (HOTLINE_WRAPUP_S, 10 s), so the queue backs up and the later callers wait
past 40 s. Some callers hang up: within 5 s (short abandons), between 5 and 40 s, and after
40 s. The run happens once (a module fixture, ~2 minutes) on an instance and services of its
own (so Asterisk's `QueueStatus` counts exactly these calls, as Hotline's figures do); the
tests then hold Hotline's record against what Asterisk said:

- every caller has a ticket, and the UIN they heard is its number;
- each call's outcome and wait equal Asterisk's (`AgentConnect`/`QueueCallerAbandon`
  `HoldTime`, within 1 s); an answer after more than 40 s is answered, not within;
- Hotline's `perf`/`perf2` (SQL history and live figures) equal `ServicelevelPerf` and
  `ServicelevelPerf2` of `QueueStatus`, and the history agrees with the live figures;
- `hotline reconcile queue-log` over the instance's own queue_log finds every entry
  Asterisk logged in Hotline's record, and nothing more.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from core.uin import short_uin
from tests.asterisk.ami import Frame, HarnessAmi
from tests.asterisk.conftest import ASTERISK_REDIS_URL, Services, services_of_their_own
from tests.asterisk.harness import Caller, Line
from tests.asterisk.instance import AsteriskInstance
from tests.asterisk.steps import (
    SL_THRESHOLD_S,
    QueueVisit,
    crm_calls,
    heard_uin,
    hung_up,
    queue_params,
    ticket,
    visit,
)
from tests.conftest import TOKENS

BUSY_REDIS_URL = ASTERISK_REDIS_URL.rsplit("/", 1)[0] + "/18"
WAIT_TOLERANCE_S = 1.0
SPACING_S = 0.3  # between two callers dialling
TALK_S = 2.0  # each answered caller talks this long, then hangs up
SHORT_ABANDON_S = 5  # HOTLINE_SL_SHORT_ABANDON_S's default
AGENTS = {"agent01": 1, "agent02": 2, "agent03": 3, "agent04": 5}  # answer after N s of ringing
STAY = None
# When each caller hangs up, in seconds after joining the queue, unless answered before
# (STAY: waits for an agent however long). The queue is first-come first-served, so the
# plan by position: the first four are answered at once, callers 6-15 within ~40 s, 20-27
# after it; 4-5 and 28-29 give up early (short abandons), 16-19 after 5 s, 30-31 past 40 s.
PLAN: list[float | None] = (
    [STAY] * 4 + [2.5, 3.5] + [STAY] * 10 + [8, 14, 20, 30] + [STAY] * 8 + [2.5, 3.5, 44, 50]
)
CALLERS = len(PLAN)
MODULE_AMI_FILE = "test_busy_period.ami.txt"


@pytest.fixture(scope="module")
def services(asterisk: AsteriskInstance) -> Iterator[Services]:
    """Services of its own on the shared instance: the history and the live figures count
    the busy period's calls and nothing else (QueueReset, `Line.clear`, does the same
    for `QueueStatus`)."""
    with services_of_their_own(asterisk, BUSY_REDIS_URL) as started:
        yield started


@dataclass
class BusyPeriod:
    line: Line
    callers: list[Caller]
    visits: dict[str, QueueVisit]  # by Linkedid, as Asterisk told it
    calls: dict[str, dict[str, Any]]  # by Linkedid, the CRM's record
    params: Frame  # QueueStatus' QueueParams of `hotline` after the last call
    history: dict[str, Any]  # GET /api/metrics/service-level, the whole period
    live: dict[str, Any]  # GET /api/queues/live
    tickets: dict[str, dict[str, Any] | None]  # GET /api/tickets/{uin} of each call's UIN
    seconds: float  # the run, first dial to the last figure read
    began: datetime  # just before the first dial
    ended: datetime  # once every call had ended in the CRM


async def _caller(line: Line, n: int, hang_up_after_s: float | None) -> Caller:
    await asyncio.sleep(n * SPACING_S)
    caller = await line.call(f"7900100{n:04d}", f"Caller {n}")
    joined = await line.event("QueueCallerJoin", caller)
    if hang_up_after_s is None:
        await line.event("AgentConnect", caller, timeout_s=240)
        await asyncio.sleep(TALK_S)
    else:
        left = joined.at + hang_up_after_s - time.time()
        try:
            await line.event("AgentConnect", caller, timeout_s=max(left, 0.01))
            await asyncio.sleep(TALK_S)  # answered before the caller gave up
        except TimeoutError:
            pass
    await line.hang_up(caller)
    await hung_up(line, caller)
    return caller


async def _live_hotline(line: Line) -> dict[str, Any]:
    reply = await line.crm.get("/api/queues/live")
    reply.raise_for_status()
    (hotline,) = [q for q in reply.json()["queues"] if q["queue"] == "hotline"]
    return hotline


@asynccontextmanager
async def busy_line(asterisk: AsteriskInstance, services: Services) -> AsyncIterator[Line]:
    """The harness's line to the real Asterisk with the busy period's agents added; the
    agents removed and the connections closed after."""
    endpoints = asterisk.endpoints
    ami = await HarnessAmi.connect(endpoints.ami_port, "harness", endpoints.harness_secret)
    headers = {"Authorization": f"Bearer {TOKENS['supervisor']}"}
    crm = httpx.AsyncClient(base_url=services.crm_url, headers=headers, timeout=10)
    line = Line(ami, crm, endpoints.hotline_number)
    try:
        # The events a tracker asks for, and the AGI ones (the UIN read out): the recording
        # kept as a fixture is then ~50 events a call, not ~160.
        await ami.action("Events", EventMask="call,agent,agi")
        await line.clear()
        for name, answer_s in AGENTS.items():
            await line.add_agent(name, answer_s=answer_s)
        yield line
    finally:
        try:
            await line.clear()
        finally:
            await crm.aclose()
            await ami.close()


async def sl_history(line: Line, since: datetime) -> dict[str, Any]:
    """The CRM's service-level history of the hotline queue from `since` to now."""
    until = datetime.now(UTC) + timedelta(minutes=1)
    reply = await line.crm.get(
        "/api/metrics/service-level",
        params={"from": since.isoformat(), "to": until.isoformat(), "queue": "hotline"},
    )
    reply.raise_for_status()
    return reply.json()


async def _run(asterisk: AsteriskInstance, services: Services) -> BusyPeriod:
    lines: list[Line] = []
    try:
        async with busy_line(asterisk, services) as line:
            lines.append(line)
            started = time.monotonic()
            began = datetime.now(UTC)
            since = began - timedelta(minutes=1)
            callers = await asyncio.gather(*(_caller(line, n, s) for n, s in enumerate(PLAN)))
            calls = await crm_calls(line, callers, timeout_s=90)
            ended = datetime.now(UTC)
            params = await queue_params(line)
            # The live figures are written by the tracker a moment after the facts: wait.
            deadline = time.monotonic() + 30
            while True:
                live = await _live_hotline(line)
                done = live["service_level"]["last_60m"]
                if done["answered"] + done["abandoned"] >= CALLERS or time.monotonic() > deadline:
                    break
                await asyncio.sleep(0.5)
            history = await sl_history(line, since)
            visits = {c.linkedid: v for c in callers if (v := visit(line, c)) is not None}
            tickets = {call["uin"]: await ticket(line, call["uin"]) for call in calls.values()}
            return BusyPeriod(
                line,
                callers,
                visits,
                calls,
                params,
                history,
                live,
                tickets,
                time.monotonic() - started,
                began,
                ended,
            )
    finally:
        for line in lines:  # what the harness heard, the agents' removal included
            (asterisk.home / MODULE_AMI_FILE).write_bytes(bytes(line.ami.received))


@pytest.fixture(scope="module")
def busy(asterisk: AsteriskInstance, services: Services) -> BusyPeriod:
    return asyncio.run(_run(asterisk, services))


def test_the_busy_period_covers_what_it_is_for(busy: BusyPeriod) -> None:
    """The plan really made: waits past T, and abandons within 5 s, within T and past T."""
    assert len(busy.visits) == CALLERS  # every caller reached the queue
    answered = [v for v in busy.visits.values() if v.outcome == "answered"]
    abandoned = [v for v in busy.visits.values() if v.outcome == "abandoned"]
    assert any(v.hold_time_s > SL_THRESHOLD_S for v in answered)
    assert any(v.hold_time_s <= SL_THRESHOLD_S for v in answered)
    assert any(v.hold_time_s < SHORT_ABANDON_S for v in abandoned)
    assert any(SHORT_ABANDON_S < v.hold_time_s <= SL_THRESHOLD_S for v in abandoned)
    assert any(v.hold_time_s > SL_THRESHOLD_S for v in abandoned)
    assert len({v.member for v in answered}) == len(AGENTS)


def test_every_caller_has_the_ticket_of_the_uin_they_heard(busy: BusyPeriod) -> None:
    uins = [busy.calls[c.linkedid]["uin"] for c in busy.callers]
    assert all(uins) and len(set(uins)) == CALLERS  # tickets == callers
    for caller, uin in zip(busy.callers, uins, strict=True):
        assert heard_uin(busy.line, caller) == short_uin(uin)  # the form a caller hears
        found = busy.tickets[uin]
        assert found is not None and found["uin"] == uin


def test_each_call_has_asterisks_outcome_and_wait(busy: BusyPeriod) -> None:
    for caller in busy.callers:
        told, call = busy.visits[caller.linkedid], busy.calls[caller.linkedid]
        assert (call["outcome"], call["queue"]) == (told.outcome, "hotline"), caller
        assert call["wait_s"] == pytest.approx(told.hold_time_s, abs=WAIT_TOLERANCE_S), caller
        if told.outcome == "answered":
            assert call["agent"] == told.member


def test_a_slow_answer_outside_40_s_is_answered_not_within(busy: BusyPeriod) -> None:
    slow = [
        busy.calls[linkedid]
        for linkedid, told in busy.visits.items()
        if told.outcome == "answered" and told.hold_time_s > SL_THRESHOLD_S
    ]
    assert slow
    for call in slow:
        assert call["outcome"] == "answered"
        assert call["wait_s"] > SL_THRESHOLD_S
    within = sum(
        v.outcome == "answered" and v.hold_time_s <= SL_THRESHOLD_S for v in busy.visits.values()
    )
    figures = busy.history["total"]["hotline"]
    assert figures["answered_within_whole_s"] == within
    assert figures["answered"] - figures["answered_within_whole_s"] == len(slow)


def test_perf_and_perf2_are_asterisks(busy: BusyPeriod) -> None:
    params = busy.params
    history = busy.history["total"]["hotline"]
    live = busy.live["service_level"]["last_60m"]
    for figures in (history, live):
        assert figures["answered"] == int(params["Completed"])
        assert figures["abandoned"] == int(params["Abandoned"])
        assert figures["perf"] == float(params["ServicelevelPerf"])
        assert figures["perf2"] == float(params["ServicelevelPerf2"])
    assert int(params["ServiceLevel"]) == history["threshold_s"] == SL_THRESHOLD_S


def test_the_history_agrees_with_the_live_figures(busy: BusyPeriod) -> None:
    history = busy.history["total"]["hotline"]
    live = busy.live["service_level"]["last_60m"]
    for key in (
        "offered", "answered", "answered_within", "abandoned", "abandoned_short", "sl", "perf",
        "perf2", "abandon_rate", "answered_within_buckets",
    ):  # fmt: skip
        assert history[key] == live[key], key
    assert history["asa_s"] == pytest.approx(live["asa_s"], abs=0.01)


def test_asterisks_own_queue_log_reconciles_with_the_record(
    busy: BusyPeriod, asterisk: AsteriskInstance, services: Services
) -> None:
    """The instance's queue_log (what app_queue itself wrote), reconciled as an operator
    would: `hotline reconcile queue-log FILE --from --to --json` with the services' settings."""
    (crm,) = [c for c in services.components if c.name == "crm"]
    reply = subprocess.run(
        [
            sys.executable,
            "-m",
            "hotline.cli",
            "reconcile",
            "queue-log",
            str(asterisk.home / "log" / "queue_log"),
            "--from",
            busy.began.isoformat(),
            "--to",
            busy.ended.isoformat(),
            "--json",
        ],
        env={**os.environ, **crm.env},
        cwd=services.home,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert reply.stdout, reply.stderr
    report = json.loads(reply.stdout)
    assert report["asterisk_entries"] == report["matched"] == CALLERS
    assert report["missing_in_hotline"] == report["unknown_to_asterisk"] == []
    assert report["wait_differences"] == report["outcome_differences"] == []
    assert report["unreadable_lines"] == []
    assert report["ok"] is True and reply.returncode == 0
