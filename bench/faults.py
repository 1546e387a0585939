"""Benchmark: nothing lost through faults (issue 14 item 9), the fault table as one JSON object.

The stack of `tests/faults/` (its own Redis with append-only on, its own PostgreSQL
cluster, `hotline crm`, `hotline agi` and `hotline tracker` in processes of their own, the
simulated Asterisk on the wall clock), callers ringing at a steady rate, and one fault at
a time: Redis restarted, PostgreSQL restarted, the CRM killed for 30 s, the tracker killed
and restarted, the AGI server killed, the AMI connection cut. The baseline, in the same
run and on the same stack, is the first row: the same traffic with nothing broken.

Each row, against the simulator's truth: `truth_calls`, `crm_calls`, `tickets`,
`calls_with_ticket`, `in_progress`, `duplicates`, `uin_heard` (of them
`uin_is_the_ticket`), `apologies`, `no_uin` (of them `agi_unreachable`: AGI() found no
server), `sl_truth` against `sl_crm` (answered, abandoned, sl, perf, perf2 at T = 3 s,
short abandon 1 s), `problems` and `nothing_lost`.

`--real`: the scenario measured before on the real Asterisk instead (the tracker SIGKILLed
in a busy period of 34 callers, and the CRM down 30 s; `tests/asterisk/test_busy_restart.py`,
the cached Asterisk build).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "queue")]


async def simulated(rate_per_s: float, crm_down_s: float, steady_s: float) -> dict[str, Any]:
    from tests.faults import scenario
    from tests.faults.stack import running_stack

    faults = [
        scenario.no_fault(),
        scenario.restart_redis(down_s=3),
        scenario.restart_postgres(down_s=3),
        scenario.crm_down(down_s=crm_down_s),
        scenario.restart_tracker(down_s=5),
        scenario.restart_agi(),
        scenario.cut_ami(),
    ]
    started = time.monotonic()
    rows = []
    async with running_stack() as stack:
        up_s = time.monotonic() - started
        for phase, fault in enumerate(faults, 1):
            row = await scenario.run_phase(
                stack,
                phase,
                fault,
                rate_per_s=rate_per_s,
                before_s=steady_s,
                after_s=steady_s,
                settle_s=60,
            )
            rows.append(row.as_json())
    return {
        "rate_per_s": rate_per_s,
        "stack_up_s": round(up_s, 1),
        "faults": rows,
        "nothing_lost": all(row["nothing_lost"] for row in rows),
        "seconds": round(time.monotonic() - started, 1),
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }


def real() -> dict[str, Any]:
    """The real Asterisk's busy period, one fault at a time (each on its own instance)."""
    from tests.asterisk.conftest import running_instance, running_services
    from tests.asterisk.instance import cache_dir
    from tests.asterisk.test_busy_restart import (
        RESTART_REDIS_URL,
        _kill_and_restart,
        _run,
        crm_down,
        figures,
    )

    out: dict[str, Any] = {}
    for name, fault in {"tracker": _kill_and_restart, "crm": crm_down}.items():
        started = time.monotonic()
        with tempfile.TemporaryDirectory(prefix=f"hotline-faults-{name}-") as home:
            with running_instance(Path(home) / "asterisk", cache_dir()) as asterisk:
                with running_services(asterisk, RESTART_REDIS_URL) as services:
                    run = asyncio.run(_run(asterisk, services, fault))
        counted = figures(run)
        out[name] = {
            **counted,
            "nothing_lost": counted["hotline"] == counted["asterisk"]
            and counted["left_in_progress"] == 0
            and counted["uin_heard_is_the_ticket"] == counted["calls"],
            "seconds": round(time.monotonic() - started, 1),
        }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=1.0, help="new callers per second")
    parser.add_argument("--crm-down", type=float, default=30.0, help="seconds the CRM is down")
    parser.add_argument(
        "--steady", type=float, default=5.0, help="seconds of calls before and after each fault"
    )
    parser.add_argument(
        "--real", action="store_true", help="the real Asterisk's busy period instead"
    )
    args = parser.parse_args()
    if args.real:
        print(json.dumps(real()))
        return
    print(json.dumps(asyncio.run(simulated(args.rate, args.crm_down, args.steady)), default=str))


if __name__ == "__main__":
    main()
