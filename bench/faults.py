"""Benchmark: a fault on the real Asterisk, and what Hotline counted against Asterisk's truth.

The fault built so far (issue 14 item 9 in part): the tracker SIGKILLed in the middle of
a busy period (34 callers, four agents; `tests/asterisk/test_busy_restart.py`) and
started again 14 s later, while callers are answered, complete and give up, two of them
calling and giving up inside the outage. The baseline, in the same run, is Asterisk's own
record: each caller's outcome as AMI told it (`truth`) and `QueueStatus`' figures
(`asterisk`); `hotline` is the SQL history after the restart, `left_in_progress` the calls
the CRM still holds open 60 s after the last caller hung up.

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
    DOWN_S,
    KILL_AFTER_S,
    RESTART_REDIS_URL,
    _run,
    figures,
)


def main() -> None:
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="hotline-faults-") as home:
        with running_instance(Path(home) / "asterisk", cache_dir()) as asterisk:
            with running_services(asterisk, RESTART_REDIS_URL) as services:
                run = asyncio.run(_run(asterisk, services))
    counted = figures(run)
    print(
        json.dumps(
            {
                "fault": f"tracker SIGKILL {KILL_AFTER_S:.0f} s into a busy period, "
                f"started again {DOWN_S:.0f} s later",
                **counted,
                "counted_right": counted["hotline"] == counted["asterisk"]
                and counted["left_in_progress"] == 0,
                "seconds": round(time.monotonic() - started, 1),
            }
        )
    )


if __name__ == "__main__":
    main()
