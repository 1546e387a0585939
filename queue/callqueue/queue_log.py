"""Asterisk's queue_log: what app_queue wrote of each queue call, read back at a resync.

A call that ended while the tracker was away (killed, restarted) left no event the
tracker could read, but app_queue logged it, one line per step (read by
`core.queue_log`, which says each event's fields): `time|callid|queue|agent|event|data...`,
the callid being the `Uniqueid` of the queue-side channel (not the Linkedid), the time
whole seconds. What the resync uses:

| event | data | read as |
|---|---|---|
| `CONNECT` | holdtime, bridged channel's uniqueid, ringtime | `AgentConnect` (HoldTime, RingTime) |
| `COMPLETECALLER` / `COMPLETEAGENT` | holdtime, calltime, origposition | `AgentComplete` (Reason caller / agent) |
| `BLINDTRANSFER` / `ATTENDEDTRANSFER` / `TRANSFER` | ..., holdtime, calltime, origposition | `AgentComplete` (Reason transfer) |
| `ABANDON` | position, origposition, waittime | `QueueCallerAbandon` |
| `EXITWITHTIMEOUT`, `EXITEMPTY`, `EXITWITHKEY`, `WITHDRAW` | position, ... | `QueueCallerLeave` (left unanswered, not abandoned: app_queue counts neither) |
| `ENTERQUEUE` | url, caller's number, position | `QueueCallerJoin` (a call never seen) |

Each becomes the AMI event Asterisk would have sent, so the tracker's own handlers count
it; nothing else is invented.

>>> from core.queue_log import parse_line
>>> record = parse_line("1796602404|1796602368.13|hotline|agent01|COMPLETECALLER|27|2|7")
>>> as_event(record, linkedid="1796602368.12", channel="Local/100@hotline-in-0;2").text
'Event: AgentComplete\\nQueue: hotline\\nMemberName: agent01\\nLinkedid: 1796602368.12\\nChannel: Local/100@hotline-in-0;2\\nUniqueid: 1796602368.13\\nHoldTime: 27\\nTalkTime: 2\\nReason: caller\\nTimestamp: 1796602404'
"""  # noqa: E501

from __future__ import annotations

import logging
import os
from pathlib import Path

from core.ami.parser import AmiMessage
from core.queue_log import COMPLETES, LEFT_WAITING, TRANSFERS, QueueLogLines, QueueLogRecord

log = logging.getLogger(__name__)

READ_TAIL_BYTES = 32 * 1024 * 1024  # days of a busy centre; older lines are not needed
USED = frozenset({"ENTERQUEUE", "CONNECT", *LEFT_WAITING, *COMPLETES, *TRANSFERS})


def read_queue_log(path: str | Path, since: float) -> dict[str, list[QueueLogRecord]]:
    """The records from `since` on (whole seconds, a second of slack), by callid, in file
    order; an unreadable file is logged and read as empty (the resync estimates then),
    lines that are not records are skipped and counted in the log."""
    records: dict[str, list[QueueLogRecord]] = {}
    try:
        with open(path, "rb") as file:
            size = file.seek(0, os.SEEK_END)
            file.seek(max(0, size - READ_TAIL_BYTES))
            if size > READ_TAIL_BYTES:
                file.readline()  # a partial first line
            lines = QueueLogLines(file)
            for record in lines:
                if record.event in USED and record.at >= int(since) - 1:
                    records.setdefault(record.callid, []).append(record)
    except OSError as exc:
        log.warning("queue_log %s not read: %s", path, exc)
        return records
    if lines.skipped_count:
        first = lines.skipped[0]
        log.warning(
            "queue_log %s: %d line(s) not understood, skipped (the first: line %d of the "
            "part read, %s)",
            path,
            lines.skipped_count,
            first.number,
            first.reason,
        )
    return records


def as_event(record: QueueLogRecord, *, linkedid: str, channel: str) -> AmiMessage:
    """The AMI event Asterisk sent when it wrote `record` (the fields app_queue logs)."""
    head = [
        f"Queue: {record.queue}",
        f"MemberName: {record.agent}",
        f"Linkedid: {linkedid}",
        f"Channel: {channel}",
        f"Uniqueid: {record.callid}",
    ]
    field = record.field
    if record.event == "ENTERQUEUE":
        name = "QueueCallerJoin"
        head = [line for line in head if not line.startswith("MemberName")]
        body = [f"Position: {field('position')}", f"CallerIDNum: {field('caller_num')}"]
    elif record.event == "CONNECT":
        name = "AgentConnect"
        body = [f"HoldTime: {field('hold_s')}", f"RingTime: {field('ring_s')}"]
    elif record.event in COMPLETES or record.event in TRANSFERS:
        name = "AgentComplete"
        reason = {"COMPLETECALLER": "caller", "COMPLETEAGENT": "agent"}.get(record.event)
        body = [f"HoldTime: {field('hold_s')}", f"TalkTime: {field('talk_s')}"]
        body.append(f"Reason: {reason or 'transfer'}")
    elif record.event == "ABANDON":
        name = "QueueCallerAbandon"
        head = [line for line in head if not line.startswith("MemberName")]
        body = [
            f"Position: {field('position')}",
            f"OriginalPosition: {field('original_position')}",
            f"HoldTime: {field('wait_s')}",
        ]
    elif record.event in LEFT_WAITING:  # timeout, empty queue, a key, withdrawn
        name = "QueueCallerLeave"
        head = [line for line in head if not line.startswith("MemberName")]
        body = [f"Position: {field('position')}"]
    else:
        raise ValueError(f"queue_log's {record.event} stands for no AMI event the tracker reads")
    text = "\n".join([f"Event: {name}", *head, *body, f"Timestamp: {record.at}"])
    return AmiMessage(text, float(record.at))
