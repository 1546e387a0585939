"""Benchmark: faults on the real Asterisk, and what Hotline counted against Asterisk's truth.

The busy period of `tests/asterisk/test_busy_restart.py` (34 callers, four agents, each
fault on an instance and services of its own), with one fault at a time (issue 14 item
9, the part built):

- `tracker`: the tracker SIGKILLed 22 s in and started again 14 s later, while callers
  are answered, complete and give up, two of them calling and giving up inside the outage;
- `crm`: the CRM SIGKILLed 3 s in (callers in the AGI route) and started again 30 s later.

The baseline, in the same run, is Asterisk's own record: each caller's outcome as AMI
told it (`truth`) and `QueueStatus`' figures (`asterisk`); `hotline` is the SQL history,
`left_in_progress` the calls the CRM still holds open 60 s after the last caller hung up,
`uin_heard_is_the_ticket` the callers whose ticket is the UIN they heard.

Needs the cached Asterisk build (`scripts/asterisk-test-instance prefix`), PostgreSQL and
redis-server, as the real-Asterisk tests do. Prints one JSON object.
"""

from __future__ import annotations

import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "queue")]

from tests.asterisk.conftest import running_instance, running_services  # noqa: E402
from tests.asterisk.instance import cache_dir  # noqa: E402
from tests.asterisk.test_busy_restart import (  # noqa: E402
    RESTART_REDIS_URL,
    _kill_and_restart,
    _run,
    crm_down,
    figures,
)

FAULTS = {"tracker": _kill_and_restart, "crm": crm_down}


def one(name: str) -> dict[str, object]:
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix=f"hotline-faults-{name}-") as home:
        with running_instance(Path(home) / "asterisk", cache_dir()) as asterisk:
            with running_services(asterisk, RESTART_REDIS_URL) as services:
                run = asyncio.run(_run(asterisk, services, FAULTS[name]))
    counted = figures(run)
    return {
        **counted,
        "nothing_lost": counted["hotline"] == counted["asterisk"]
        and counted["left_in_progress"] == 0
        and counted["uin_heard_is_the_ticket"] == counted["calls"],
        "seconds": round(time.monotonic() - started, 1),
    }


def main() -> None:
    print(json.dumps({name: one(name) for name in FAULTS}))


if __name__ == "__main__":
    main()
