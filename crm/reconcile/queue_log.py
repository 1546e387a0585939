"""Asterisk's `queue_log`, read into queue entries (one per `ENTERQUEUE`).

A line is `time|callid|queue|agent|event|data...` (`main/logger.c`: `time` whole epoch
seconds, `callid` the `Uniqueid` of the channel in `Queue()`, not the Linkedid). The data
of each event, from `apps/app_queue.c`:

- `ENTERQUEUE` url|caller number|position
- `CONNECT` holdtime|member channel's uniqueid|ringtime
- `ABANDON`, `EXITWITHTIMEOUT`, `EXITEMPTY` position|original position|waittime
- `EXITWITHKEY` key|position|original position|waittime
- `COMPLETECALLER`, `COMPLETEAGENT` holdtime|calltime|original position
- `BLINDTRANSFER` extension|context|holdtime|calltime|original position
- `ATTENDEDTRANSFER` method|...|holdtime|calltime|original position
- `TRANSFER` extension|context|holdtime|calltime|original position (older versions)
- `RINGNOANSWER` ring time (ms), `RINGCANCELED` ring time (ms)

>>> log = read_queue_log(["1796602374|1796602366.1|hotline|NONE|ENTERQUEUE||79001000000|1",
...     "1796602379|1796602366.1|hotline|agent04|CONNECT|5|1796602374.52|5"])
>>> [(e.callid, e.outcome, e.agent, e.wait_s) for e in log.entries]
[('1796602366.1', 'answered', 'agent04', 5)]
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

ENDS_WAIT = {"ABANDON": "abandoned", "EXITWITHTIMEOUT": "timeout", "EXITEMPTY": "empty"}
ENDS_TALK = {"COMPLETECALLER", "COMPLETEAGENT", "BLINDTRANSFER", "ATTENDEDTRANSFER", "TRANSFER"}


@dataclass
class AsteriskEntry:
    """One caller's time in one queue as queue_log tells it."""

    callid: str
    queue: str
    entered_at: datetime
    caller: str = ""
    position: int = 0
    outcome: str = "waiting"  # answered | abandoned | timeout | empty | key | waiting
    agent: str = ""
    wait_s: int | None = None  # app_queue's whole seconds (holdtime / waittime)
    talk_s: int | None = None
    ended_by: str = ""  # COMPLETECALLER, COMPLETEAGENT, BLINDTRANSFER...
    ring_no_answer: int = 0


@dataclass
class QueueLog:
    entries: list[AsteriskEntry] = field(default_factory=list)
    bad_lines: list[int] = field(default_factory=list)  # line numbers not understood


def _int(value: str) -> int | None:
    value = value.strip()
    return int(value) if value.lstrip("-").isdigit() else None


def read_queue_log(lines: Iterable[str]) -> QueueLog:
    """Every queue entry of the lines, in order of entering."""
    log = QueueLog()
    open_entries: dict[tuple[str, str], AsteriskEntry] = {}
    for number, line in enumerate(lines, 1):
        line = line.rstrip("\r\n")
        if not line.strip():
            continue
        parts = line.split("|")
        if len(parts) < 5 or _int(parts[0]) is None:
            log.bad_lines.append(number)
            continue
        at = datetime.fromtimestamp(int(parts[0]), UTC)
        callid, queue, agent, event, data = parts[1], parts[2], parts[3], parts[4], parts[5:]
        key = (callid, queue)
        if event == "ENTERQUEUE":
            entry = AsteriskEntry(
                callid=callid,
                queue=queue,
                entered_at=at,
                caller=data[1] if len(data) > 1 else "",
                position=(_int(data[2]) or 0) if len(data) > 2 else 0,
            )
            open_entries[key] = entry
            log.entries.append(entry)
            continue
        entry = open_entries.get(key)
        if entry is None:
            continue  # the entry began before the file (or the range) did
        if event == "CONNECT":
            entry.outcome, entry.agent = "answered", agent
            entry.wait_s = _int(data[0]) if data else None
        elif event in ENDS_WAIT or event == "EXITWITHKEY":
            entry.outcome = ENDS_WAIT.get(event, "key")
            entry.wait_s = _int(data[-1]) if data else None
            del open_entries[key]
        elif event in ENDS_TALK:
            entry.ended_by = event
            entry.talk_s = _int(data[-2]) if len(data) >= 2 else None
            del open_entries[key]
        elif event == "RINGNOANSWER":
            entry.ring_no_answer += 1
    return log
