"""Asterisk's `queue_log`, read into queue entries (one per `ENTERQUEUE`).

The lines are read by `core.queue_log` (`time|callid|queue|agent|event|data...`, whole
epoch seconds, `callid` the `Uniqueid` of the channel in `Queue()`, not the Linkedid; its
table gives each event's data fields). An entry opens at `ENTERQUEUE` and is answered at
`CONNECT` (its wait the hold time), left at `ABANDON`, `EXITWITHTIMEOUT`, `EXITEMPTY`,
`EXITWITHKEY` or `WITHDRAW` (its wait the wait time), its talk ended by `COMPLETECALLER`,
`COMPLETEAGENT` or a transfer (`BLINDTRANSFER`, `ATTENDEDTRANSFER`, the older
`TRANSFER`); `RINGNOANSWER` counts a ring no agent took. Lines that are not records are
skipped, their numbers in `bad_lines`.

>>> log = read_queue_log(["1796602374|1796602366.1|hotline|NONE|ENTERQUEUE||79001000000|1",
...     "1796602379|1796602366.1|hotline|agent04|CONNECT|5|1796602374.52|5"])
>>> [(e.callid, e.outcome, e.agent, e.wait_s) for e in log.entries]
[('1796602366.1', 'answered', 'agent04', 5)]
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from core.queue_log import TALK_ENDED, QueueLogLines

ENDS_WAIT = {
    "ABANDON": "abandoned",
    "EXITWITHTIMEOUT": "timeout",
    "EXITEMPTY": "empty",
    "EXITWITHKEY": "key",
    "WITHDRAW": "withdrawn",
}


@dataclass
class AsteriskEntry:
    """One caller's time in one queue as queue_log tells it."""

    callid: str
    queue: str
    entered_at: datetime
    caller: str = ""
    position: int = 0
    outcome: str = "waiting"  # answered | abandoned | timeout | empty | key | withdrawn | waiting
    agent: str = ""
    wait_s: int | None = None  # app_queue's whole seconds (holdtime / waittime)
    talk_s: int | None = None
    ended_by: str = ""  # COMPLETECALLER, COMPLETEAGENT, BLINDTRANSFER...
    ring_no_answer: int = 0


@dataclass
class QueueLog:
    entries: list[AsteriskEntry] = field(default_factory=list)
    bad_lines: list[int] = field(default_factory=list)  # line numbers not understood


def read_queue_log(lines: Iterable[str | bytes]) -> QueueLog:
    """Every queue entry of the lines, in order of entering."""
    log = QueueLog()
    open_entries: dict[tuple[str, str], AsteriskEntry] = {}
    records = QueueLogLines(lines)
    for record in records:
        key = (record.callid, record.queue)
        event = record.event
        if event == "ENTERQUEUE":
            entry = AsteriskEntry(
                callid=record.callid,
                queue=record.queue,
                entered_at=datetime.fromtimestamp(record.at, UTC),
                caller=record.field("caller_num"),
                position=record.int_field("position") or 0,
            )
            open_entries[key] = entry
            log.entries.append(entry)
            continue
        entry = open_entries.get(key)
        if entry is None:
            continue  # the entry began before the file (or the range) did
        if event == "CONNECT":
            entry.outcome, entry.agent = "answered", record.agent
            entry.wait_s = record.int_field("hold_s")
        elif event in ENDS_WAIT:
            entry.outcome = ENDS_WAIT[event]
            entry.wait_s = record.int_field("wait_s")
            del open_entries[key]
        elif event in TALK_ENDED:
            entry.ended_by = event
            entry.talk_s = record.int_field("talk_s")
            del open_entries[key]
        elif event == "RINGNOANSWER":
            entry.ring_no_answer += 1
    log.bad_lines = [line.number for line in records.skipped]
    return log
