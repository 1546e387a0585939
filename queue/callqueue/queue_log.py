"""Asterisk's queue_log: what app_queue wrote of each queue call, read back at a resync.

A call that ended while the tracker was away (killed, restarted) left no event the
tracker could read, but app_queue logged it, one line per step:
`time|callid|queue|agent|event|data1|data2|data3...`, the callid being the `Uniqueid` of
the queue-side channel (not the Linkedid), the time whole seconds. What the resync uses:

| event | data | read as |
|---|---|---|
| `CONNECT` | holdtime, bridged channel's uniqueid, ringtime | `AgentConnect` (HoldTime, RingTime) |
| `COMPLETECALLER` / `COMPLETEAGENT` | holdtime, calltime, origposition | `AgentComplete` (Reason caller / agent) |
| `BLINDTRANSFER` / `ATTENDEDTRANSFER` / `TRANSFER` | ..., holdtime, calltime, origposition | `AgentComplete` (Reason transfer) |
| `ABANDON` | position, origposition, waittime | `QueueCallerAbandon` |
| `ENTERQUEUE` | url, caller's number, position | `QueueCallerJoin` (a call never seen) |

Each becomes the AMI event Asterisk would have sent, so the tracker's own handlers count
it; nothing else is invented.

>>> record = parse_line("1796602404|1796602368.13|hotline|agent01|COMPLETECALLER|27|2|7")
>>> as_event(record, linkedid="1796602368.12", channel="Local/100@hotline-in-0;2").text
'Event: AgentComplete\\nQueue: hotline\\nMemberName: agent01\\nLinkedid: 1796602368.12\\nChannel: Local/100@hotline-in-0;2\\nUniqueid: 1796602368.13\\nHoldTime: 27\\nTalkTime: 2\\nReason: caller\\nTimestamp: 1796602404'
"""  # noqa: E501

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

from core.ami.parser import AmiMessage

log = logging.getLogger(__name__)

# Asterisk 22 logs BLINDTRANSFER (exten|context|...) and ATTENDEDTRANSFER (a method and
# its own `|`-separated parts|...), older versions TRANSFER; all end `holdtime|calltime|
# origposition` (apps/app_queue.c), so the two times are read from the end.
TRANSFERS = frozenset({"BLINDTRANSFER", "ATTENDEDTRANSFER", "TRANSFER"})
READ_TAIL_BYTES = 32 * 1024 * 1024  # days of a busy centre; older lines are not needed
USED = frozenset(
    {"ENTERQUEUE", "CONNECT", "COMPLETECALLER", "COMPLETEAGENT", "ABANDON", *TRANSFERS}
)


@dataclass(frozen=True)
class QueueLogRecord:
    at: int
    callid: str
    queue: str
    agent: str
    event: str
    data: tuple[str, ...]


def parse_line(line: str) -> QueueLogRecord | None:
    """One line of queue_log, or None for a line the resync has no use for."""
    parts = line.rstrip("\r\n").split("|")
    if len(parts) < 5 or parts[4] not in USED or not parts[0].isdigit():
        return None
    return QueueLogRecord(int(parts[0]), parts[1], parts[2], parts[3], parts[4], tuple(parts[5:]))


def read_queue_log(path: str | Path, since: float) -> dict[str, list[QueueLogRecord]]:
    """The records from `since` on (whole seconds, a second of slack), by callid, in file
    order; an unreadable file is logged and read as empty (the resync estimates then)."""
    records: dict[str, list[QueueLogRecord]] = {}
    try:
        with open(path, "rb") as file:
            size = file.seek(0, os.SEEK_END)
            file.seek(max(0, size - READ_TAIL_BYTES))
            if size > READ_TAIL_BYTES:
                file.readline()  # a partial first line
            for raw in file:
                record = parse_line(raw.decode("utf-8", "replace"))
                if record is not None and record.at >= int(since) - 1:
                    records.setdefault(record.callid, []).append(record)
    except OSError as exc:
        log.warning("queue_log %s not read: %s", path, exc)
    return records


def _data(record: QueueLogRecord, index: int) -> str:
    return record.data[index] if len(record.data) > index else ""


def as_event(record: QueueLogRecord, *, linkedid: str, channel: str) -> AmiMessage:
    """The AMI event Asterisk sent when it wrote `record` (the fields app_queue logs)."""
    head = [
        f"Queue: {record.queue}",
        f"MemberName: {record.agent}",
        f"Linkedid: {linkedid}",
        f"Channel: {channel}",
        f"Uniqueid: {record.callid}",
    ]
    if record.event == "ENTERQUEUE":
        name = "QueueCallerJoin"
        head = [line for line in head if not line.startswith("MemberName")]
        body = [f"Position: {_data(record, 2)}", f"CallerIDNum: {_data(record, 1)}"]
    elif record.event == "CONNECT":
        name = "AgentConnect"
        body = [f"HoldTime: {_data(record, 0)}", f"RingTime: {_data(record, 2)}"]
    elif record.event in ("COMPLETECALLER", "COMPLETEAGENT"):
        name = "AgentComplete"
        reason = "caller" if record.event == "COMPLETECALLER" else "agent"
        body = [f"HoldTime: {_data(record, 0)}", f"TalkTime: {_data(record, 1)}"]
        body.append(f"Reason: {reason}")
    elif record.event in TRANSFERS:
        name = "AgentComplete"
        hold, talk = record.data[-3:-1] if len(record.data) >= 3 else ("", "")
        body = [f"HoldTime: {hold}", f"TalkTime: {talk}"]
        body.append("Reason: transfer")
    else:  # ABANDON
        name = "QueueCallerAbandon"
        head = [line for line in head if not line.startswith("MemberName")]
        body = [
            f"Position: {_data(record, 0)}",
            f"OriginalPosition: {_data(record, 1)}",
            f"HoldTime: {_data(record, 2)}",
        ]
    text = "\n".join([f"Event: {name}", *head, *body, f"Timestamp: {record.at}"])
    return AmiMessage(text, float(record.at))
