"""Asterisk's `queue_log`, line by line: the one record every reader of the file shares.

`main/logger.c` writes `time|callid|queue|agent|event|data...`: `time` whole epoch
seconds, `callid` the `Uniqueid` of the channel in `Queue()` (not the Linkedid; `NONE`,
`MANAGER`, `CLI` or `REALTIME` for member lines), `agent` the member's name (`NONE` for
a caller's own steps), then the event's data, itself `|`-separated. The data of each
event (`apps/app_queue.c`, Asterisk 22), by the names `QueueLogRecord.field` knows:

| event | data |
|---|---|
| `ENTERQUEUE` | url, caller_num, position (and caller_name with `log_caller_id_name`) |
| `CONNECT` | hold_s, member_uniqueid, ring_s |
| `COMPLETECALLER`, `COMPLETEAGENT` | hold_s, talk_s, original_position |
| `BLINDTRANSFER` | exten, context, hold_s, talk_s, original_position |
| `ATTENDEDTRANSFER` | method and its parts (`BRIDGE|id`, `APP|app`, `LINK|a|b`...), hold_s, talk_s, original_position |
| `TRANSFER` (older versions) | exten, context, hold_s, talk_s, original_position |
| `ABANDON`, `EXITWITHTIMEOUT`, `EXITEMPTY` | position, original_position, wait_s |
| `EXITWITHKEY` | key, position, original_position, wait_s |
| `WITHDRAW` | position, original_position, wait_s, info |
| `RINGNOANSWER`, `RINGCANCELED` | ring_ms |
| `ADDMEMBER` | paused (`PAUSED` or empty) |
| `PAUSE`, `UNPAUSE`, `PAUSEALL`, `UNPAUSEALL` | reason |

The transfers' times are named from the end (the attended one's method has a part count
of its own). A line that is not a record (too few fields, a time that is not a whole
number of seconds in range, no event, a NUL or CR inside) raises `QueueLogLineError`
from `parse_line`; `QueueLogLines` skips and counts such lines and never raises. NULs
before a line (the zero-filled tail a crash leaves before the next append) and a
trailing CR (a copy with CRLF line ends) are dropped, not refused.

>>> record = parse_line("1796602379|1796602366.1|hotline|agent04|CONNECT|5|1796602374.52|5")
>>> (record.at, record.callid, record.event, record.int_field("hold_s"), record.field("ring_s"))
(1796602379, '1796602366.1', 'CONNECT', 5, '5')
>>> lines = QueueLogLines(["1|1.1|hotline|NONE|ENTERQUEUE||79001|1", "garbage", ""])
>>> [(r.event, r.field("caller_num")) for r in lines], lines.skipped
([('ENTERQUEUE', '79001')], [SkippedLine(number=2, reason='5 fields at least, 1 found')])
"""  # noqa: E501

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import NamedTuple

# Where each named data field sits, per event (negative: counted from the end).
_HOLD_TALK_FROM_END = {"hold_s": -3, "talk_s": -2, "original_position": -1}
_LEFT_WAITING = {"position": 0, "original_position": 1, "wait_s": 2}
FIELDS: dict[str, dict[str, int]] = {
    "ENTERQUEUE": {"url": 0, "caller_num": 1, "position": 2, "caller_name": 3},
    "CONNECT": {"hold_s": 0, "member_uniqueid": 1, "ring_s": 2},
    "COMPLETECALLER": {"hold_s": 0, "talk_s": 1, "original_position": 2},
    "COMPLETEAGENT": {"hold_s": 0, "talk_s": 1, "original_position": 2},
    "BLINDTRANSFER": {"exten": 0, "context": 1, **_HOLD_TALK_FROM_END},
    "ATTENDEDTRANSFER": {"method": 0, **_HOLD_TALK_FROM_END},
    "TRANSFER": {"exten": 0, "context": 1, **_HOLD_TALK_FROM_END},
    "ABANDON": _LEFT_WAITING,
    "EXITWITHTIMEOUT": _LEFT_WAITING,
    "EXITEMPTY": _LEFT_WAITING,
    "EXITWITHKEY": {"key": 0, "position": 1, "original_position": 2, "wait_s": 3},
    "WITHDRAW": {**_LEFT_WAITING, "info": 3},
    "RINGNOANSWER": {"ring_ms": 0},
    "RINGCANCELED": {"ring_ms": 0},
    "ADDMEMBER": {"paused": 0},
    "PAUSE": {"reason": 0},
    "UNPAUSE": {"reason": 0},
    "PAUSEALL": {"reason": 0},
    "UNPAUSEALL": {"reason": 0},
}
TRANSFERS = frozenset({"BLINDTRANSFER", "ATTENDEDTRANSFER", "TRANSFER"})
COMPLETES = frozenset({"COMPLETECALLER", "COMPLETEAGENT"})
# A caller's stay ends with one of these: unanswered, or the answered call's talk over.
LEFT_WAITING = frozenset({"ABANDON", "EXITWITHTIMEOUT", "EXITEMPTY", "EXITWITHKEY", "WITHDRAW"})
TALK_ENDED = COMPLETES | TRANSFERS
MAX_TIME = 253_402_300_799  # 9999-12-31T23:59:59Z: past it no datetime can hold the time
SKIPPED_KEPT = 1000  # line numbers kept of the skipped ones (all are counted)


class QueueLogLineError(ValueError):
    """A line of queue_log that is not a record; says why."""


class QueueLogRecord(NamedTuple):
    """One line of queue_log (a named tuple: a file of them is read at every login)."""

    at: int  # epoch seconds, truncated (app_queue's `time(NULL)`)
    callid: str
    queue: str
    agent: str
    event: str
    data: tuple[str, ...]

    def field(self, name: str) -> str:
        """The data field `name` of this event (see the module's table), "" when the line
        has no such field."""
        index = FIELDS.get(self.event, {}).get(name)
        if index is None:
            raise KeyError(f"{self.event} lines have no {name!r} field")
        if index < 0 and len(self.data) < -index:
            return ""
        return self.data[index] if index < len(self.data) else ""

    def int_field(self, name: str) -> int | None:
        """`field(name)` as a whole number, None when absent or not one."""
        value = self.field(name).strip()
        return int(value) if value.lstrip("-").isdigit() else None


@dataclass(frozen=True, slots=True)
class SkippedLine:
    number: int  # from 1
    reason: str


def parse_line(line: str | bytes) -> QueueLogRecord:
    """One line of queue_log (its end of line optional); `QueueLogLineError` if it is not
    a record."""
    if isinstance(line, bytes):
        line = line.decode("utf-8", "replace")
    if line[:1] == "\0":
        line = line.lstrip("\0")
    line = line.rstrip("\n").rstrip("\r")
    if "\0" in line:
        raise QueueLogLineError("a NUL inside the line")
    if "\r" in line or "\n" in line:
        raise QueueLogLineError("a line break inside the line")
    parts = line.split("|")
    if len(parts) < 5:
        raise QueueLogLineError(f"5 fields at least, {len(parts)} found")
    time_text, callid, queue, agent, event = parts[:5]
    if not time_text.isascii() or not time_text.isdigit():
        raise QueueLogLineError(f"time {time_text[:20]!r} is not whole epoch seconds")
    at = int(time_text)
    if at > MAX_TIME:
        raise QueueLogLineError(f"time {time_text[:20]} is out of range")
    if not event:
        raise QueueLogLineError("no event")
    return QueueLogRecord(at, callid, queue, agent, event, tuple(parts[5:]))


class QueueLogLines:
    """The records of some lines of queue_log, in order; lines that are not records are
    skipped and counted (`skipped`, `skipped_count`), blank ones ignored.

    Iterate once; `first_line` numbers the first line given (a tail of a file)."""

    def __init__(self, lines: Iterable[str | bytes], first_line: int = 1) -> None:
        self._lines = lines
        self._first_line = first_line
        self.skipped: list[SkippedLine] = []  # the first SKIPPED_KEPT
        self.skipped_count = 0

    def __iter__(self) -> Iterator[QueueLogRecord]:
        for number, line in enumerate(self._lines, self._first_line):
            try:
                record = parse_line(line)
            except QueueLogLineError as exc:
                blank = (
                    line.strip(b"\0\r\n \t") if isinstance(line, bytes) else line.strip("\0\r\n \t")
                )
                if not blank:
                    continue  # an empty line (the file's last, zeros of a crash)
                self.skipped_count += 1
                if len(self.skipped) < SKIPPED_KEPT:
                    self.skipped.append(SkippedLine(number, str(exc)))
                continue
            yield record
