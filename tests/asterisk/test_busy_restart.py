"""The busy period of `test_busy_period.py` with the tracker SIGKILLed in the middle and
started again a few seconds later (issue 14, "Counting": before, 11 of 40 calls stayed
`in_progress` for good and the figures were wrong).

While it is down callers are answered, complete and give up; the restarted tracker takes
back its predecessor's open calls (Redis) and its resync continues those Asterisk still
has and closes the others from Asterisk's queue_log. Then, as without the fault: every
call ended in the CRM with Asterisk's outcome and wait, and the SQL history's figures are
`QueueStatus`'s. Two more callers dial just after the kill and give up before the
restart: no tracker ever saw them; the restarted one finds their `ticketed` facts (the
AGI told them, with their channel's Uniqueid) after the point its predecessor got to
in the fact stream, and their stay in queue_log.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from core.uin import short_uin
from tests.asterisk.conftest import ASTERISK_REDIS_URL, Services, running_instance, running_services
from tests.asterisk.harness import Caller, Line
from tests.asterisk.instance import AsteriskInstance
from tests.asterisk.steps import (
    component,
    heard_uin,
    hung_up,
    queue_params,
    start_again,
    ticket,
    visit,
)
from tests.asterisk.test_busy_period import (
    CALLERS,
    PLAN,
    SPACING_S,
    WAIT_TOLERANCE_S,
    _caller,
    busy_line,
    sl_history,
)

RESTART_REDIS_URL = ASTERISK_REDIS_URL.rsplit("/", 1)[0] + "/19"
KILL_AFTER_S = 22.0  # after the first dial: every caller has joined, four are answered
DOWN_S = 14.0  # answers, completions and abandons happen while the tracker is down
# Callers who dial just after the kill, go through the IVR (~8 s), join the queue and give
# up 2.5 s later: the whole call inside the outage, seen by no tracker.
UNSEEN = 2
CLOSE_WITHIN_S = 60.0  # after the last caller hung up, every call is closed by then


@pytest.fixture(scope="module")
def asterisk(
    asterisk_prefix: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[AsteriskInstance]:
    with running_instance(tmp_path_factory.mktemp("asterisk-restart"), asterisk_prefix) as inst:
        yield inst


@pytest.fixture(scope="module")
def services(asterisk: AsteriskInstance) -> Iterator[Services]:
    with running_services(asterisk, RESTART_REDIS_URL) as started:
        yield started


async def _records(
    crm: httpx.AsyncClient, linkedids: list[str], timeout_s: float
) -> dict[str, dict[str, Any]]:
    """The CRM's record of each call once all have ended, or as they are at `timeout_s`
    (a call left `in_progress` is what the test is about: it is counted, not waited for)."""
    deadline = time.monotonic() + timeout_s
    while True:
        calls = {}
        for linkedid in linkedids:
            reply = await crm.get(f"/api/calls/{linkedid}")
            calls[linkedid] = reply.json() if reply.status_code == 200 else {}
        if all(c.get("ended_at") for c in calls.values()) or time.monotonic() > deadline:
            return calls
        await asyncio.sleep(0.5)  # the recorder writes in batches: look again


async def _unseen_caller(line: Line, n: int) -> Caller:
    await asyncio.sleep(KILL_AFTER_S + 0.5 + n * SPACING_S)
    caller = await line.call(f"7900200{n:04d}", f"Unseen {n}")
    await line.event("QueueCallerJoin", caller, timeout_s=30)
    await asyncio.sleep(2.5)
    await line.hang_up(caller)
    await hung_up(line, caller)
    return caller


async def _kill_and_restart(services: Services) -> None:
    await asyncio.sleep(KILL_AFTER_S)
    component(services, "tracker").kill()
    await asyncio.sleep(DOWN_S)
    await asyncio.to_thread(start_again, services, "tracker")


CRM_DOWN_S = 30.0
OWED_PAID_WITHIN_S = 60.0  # the AGI server pays owed tickets every 2 s once the CRM is back


async def crm_down(services: Services) -> None:
    """Another fault for `bench/faults.py`: the CRM killed as the first callers reach the
    AGI route, started again 30 s later (UINs from the stock, tickets owed meanwhile)."""
    await asyncio.sleep(3.0)
    component(services, "crm").kill()
    await asyncio.sleep(CRM_DOWN_S)
    await asyncio.to_thread(start_again, services, "crm")


async def _tickets(line: Line, calls: dict[str, dict[str, Any]], callers: list[Caller]) -> dict:
    """Callers who heard a UIN whose ticket exists (owed ones are waited for)."""
    deadline = time.monotonic() + OWED_PAID_WITHIN_S
    while True:
        found = 0
        for caller in callers:
            uin = calls[caller.linkedid].get("uin")
            heard = heard_uin(line, caller)
            if uin and heard == short_uin(uin) and await ticket(line, uin) is not None:
                found += 1
        if found == len(callers) or time.monotonic() > deadline:
            heard_any = sum(bool(heard_uin(line, c)) for c in callers)
            return {"heard_a_uin": heard_any, "uin_heard_is_the_ticket": found}
        await asyncio.sleep(1.0)


async def _run(
    asterisk: AsteriskInstance,
    services: Services,
    fault: Callable[[Services], Awaitable[None]] | None = None,
) -> dict[str, Any]:
    async with busy_line(asterisk, services) as line:
        since = datetime.now(UTC) - timedelta(minutes=1)
        fault_task = asyncio.create_task((fault or _kill_and_restart)(services))
        callers = await asyncio.gather(
            *(_caller(line, n, s) for n, s in enumerate(PLAN)),
            *(_unseen_caller(line, n) for n in range(UNSEEN)),
        )
        await fault_task
        started = time.monotonic()
        calls = await _records(line.crm, [c.linkedid for c in callers], timeout_s=CLOSE_WITHIN_S)
        closed_s = time.monotonic() - started
        params = await queue_params(line)
        history = await sl_history(line, since)
        tickets = await _tickets(line, calls, callers)
        return {
            "tickets": tickets,
            "callers": callers,
            "visits": {c.linkedid: visit(line, c) for c in callers},
            "calls": calls,
            "params": params,
            "history": history["total"]["hotline"],
            "closed_within_s": round(closed_s, 1),
        }


@pytest.fixture(scope="module")
def run(asterisk: AsteriskInstance, services: Services) -> dict[str, Any]:
    return asyncio.run(_run(asterisk, services))


def test_every_call_of_the_busy_period_ends_with_asterisks_outcome(run: dict[str, Any]) -> None:
    visits, calls = run["visits"], run["calls"]
    left = [linkedid for linkedid, c in calls.items() if not c.get("ended_at")]
    assert len(calls) == CALLERS + UNSEEN and left == [], f"{len(left)} calls left in_progress"
    for caller in run["callers"]:
        told, call = visits[caller.linkedid], calls[caller.linkedid]
        assert told is not None, caller
        assert call["outcome"] == told.outcome, caller
        assert call["wait_s"] == pytest.approx(told.hold_time_s, abs=WAIT_TOLERANCE_S), caller


def test_every_caller_heard_the_uin_of_their_ticket(run: dict[str, Any]) -> None:
    assert run["tickets"]["uin_heard_is_the_ticket"] == CALLERS + UNSEEN


def figures(run: dict[str, Any]) -> dict[str, Any]:
    """What the run counted against what Asterisk told (`bench/faults.py` prints it)."""
    params, history = run["params"], run["history"]
    calls, visits = run["calls"].values(), run["visits"].values()
    return {
        "calls": CALLERS + UNSEEN,
        "in_crm": sum(bool(c) for c in calls),
        "left_in_progress": sum(bool(c) and not c.get("ended_at") for c in calls),
        "truth": {
            "answered": sum(v is not None and v.outcome == "answered" for v in visits),
            "abandoned": sum(v is not None and v.outcome == "abandoned" for v in visits),
        },
        "asterisk": {
            "answered": int(params["Completed"]),
            "abandoned": int(params["Abandoned"]),
            "perf": float(params["ServicelevelPerf"]),
            "perf2": float(params["ServicelevelPerf2"]),
        },
        "hotline": {k: history[k] for k in ("answered", "abandoned", "perf", "perf2")},
        "closed_within_s": run["closed_within_s"],
        **run["tickets"],
    }


def test_the_figures_after_the_restart_are_asterisks(run: dict[str, Any]) -> None:
    counted = figures(run)
    print(json.dumps(counted))
    assert counted["hotline"] == counted["asterisk"]
    assert counted["truth"] == {k: counted["asterisk"][k] for k in ("answered", "abandoned")}
