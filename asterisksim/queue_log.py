"""The simulator's `queue_log`, as app_queue writes one (`apps/app_queue.c`,
`main/logger.c`): `time|callid|queue|agent|event|data...`, whole epoch seconds, the
call id the `Uniqueid` of the caller's channel in `Queue()`.

Made from the queue's AMI events (the simulator's own, as a `PBX` sink, or a recorded
transcript's), which carry what app_queue writes: `HoldTime`, `TalkTime`, `Position`,
`OriginalPosition`, `Reason`, `RingTime`.

>>> log = QueueLogWriter()
>>> log.on_event("QueueCallerJoin", {"Uniqueid": "1.2", "Queue": "hotline",
...     "CallerIDNum": "79001", "Position": "1"}, 100.7)
>>> log.on_event("QueueCallerAbandon", {"Uniqueid": "1.2", "Queue": "hotline",
...     "Position": "1", "OriginalPosition": "1", "HoldTime": "9"}, 109.9)
>>> print(log.text(), end="")
100|1.2|hotline|NONE|ENTERQUEUE||79001|1
109|1.2|hotline|NONE|ABANDON|1|1|9
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from asterisksim.frames import Event

COMPLETE = {"caller": "COMPLETECALLER", "agent": "COMPLETEAGENT"}
WRITTEN = frozenset(
    {
        "QueueCallerJoin",
        "AgentConnect",
        "QueueCallerAbandon",
        "AgentRingNoAnswer",
        "BlindTransfer",
        "AgentComplete",
        "QueueMemberAdded",
        "QueueMemberRemoved",
        "QueueMemberPause",
    }
)


def _headers(tail: bytes) -> dict[str, str]:
    headers: dict[str, str] = {}
    for line in tail.decode("utf-8", "replace").split("\r\n"):
        key, sep, value = line.partition(": ")
        if sep and key not in headers:
            headers[key] = value
    return headers


class QueueLogWriter:
    """Collects queue_log lines from queue events (`on_event`, or `sink` on a PBX)."""

    def __init__(self, path: Path | None = None) -> None:
        """With `path`, each line is also appended there as it comes (as app_queue does)."""
        self.lines: list[str] = []
        self._out = path.open("a", encoding="utf-8") if path is not None else None
        self._opos: dict[str, str] = {}  # callid -> original position
        self._talking: dict[tuple[str, str], str] = {}  # (queue, member) -> callid
        self._transfer: dict[str, tuple[str, str]] = {}  # linkedid -> (exten, context)

    def sink(self, event: Event) -> None:
        if event.name in WRITTEN:
            self.on_event(event.name, _headers(event.tail), event.at_s)

    def _line(self, at_s: float, callid: str, queue: str, agent: str, event: str, *data) -> None:
        line = "|".join([str(int(at_s)), callid, queue, agent, event, *map(str, data)])
        self.lines.append(line)
        if self._out is not None:
            self._out.write(line + "\n")
            self._out.flush()

    def on_event(self, name: str, h: Mapping[str, str], at_s: float) -> None:
        queue, member = h.get("Queue", ""), h.get("MemberName", "")
        if name == "QueueCallerJoin":
            callid = h.get("Uniqueid", "")
            self._opos[callid] = h.get("Position", "")
            self._line(
                at_s,
                callid,
                queue,
                "NONE",
                "ENTERQUEUE",
                "",
                h.get("CallerIDNum", ""),
                h.get("Position", ""),
            )
        elif name == "AgentConnect":
            callid = h.get("Uniqueid", "")
            self._talking[(queue, member)] = callid
            self._line(
                at_s,
                callid,
                queue,
                member,
                "CONNECT",
                h.get("HoldTime", ""),
                h.get("DestUniqueid", ""),
                h.get("RingTime", ""),
            )
        elif name == "QueueCallerAbandon":
            self._line(
                at_s,
                h.get("Uniqueid", ""),
                queue,
                "NONE",
                "ABANDON",
                h.get("Position", ""),
                h.get("OriginalPosition", ""),
                h.get("HoldTime", ""),
            )
        elif name == "AgentRingNoAnswer":
            ring_ms = int(h.get("RingTime", "0") or 0) * 1000
            self._line(at_s, h.get("Uniqueid", ""), queue, member, "RINGNOANSWER", ring_ms)
        elif name == "BlindTransfer":
            linkedid = h.get("TransfereeLinkedid") or h.get("TransfererLinkedid", "")
            self._transfer[linkedid] = (h.get("Extension", ""), h.get("Context", ""))
        elif name == "AgentComplete":
            # Some AgentCompletes carry no caller channel: the member's open call is it.
            callid = self._talking.pop((queue, member), "") or h.get("Uniqueid", "")
            hold, talk = h.get("HoldTime", ""), h.get("TalkTime", "")
            opos = self._opos.get(callid, "")
            reason = h.get("Reason", "")
            if reason == "transfer":
                exten, context = self._transfer.get(h.get("Linkedid", ""), ("", ""))
                self._line(
                    at_s, callid, queue, member, "BLINDTRANSFER", exten, context, hold, talk, opos
                )
            else:
                event = COMPLETE.get(reason, "COMPLETECALLER")
                self._line(at_s, callid, queue, member, event, hold, talk, opos)
        elif name == "QueueMemberAdded":
            self._line(at_s, "MANAGER", queue, member, "ADDMEMBER", "")
        elif name == "QueueMemberRemoved":
            self._line(at_s, "MANAGER", queue, member, "REMOVEMEMBER", "")
        elif name == "QueueMemberPause":
            if h.get("Paused") == "1":
                self._line(at_s, "NONE", queue, member, "PAUSE", h.get("PausedReason", ""))
            else:
                self._line(at_s, "NONE", queue, member, "UNPAUSE", "")

    def close(self) -> None:
        if self._out is not None:
            self._out.close()
            self._out = None

    def text(self) -> str:
        return "".join(line + "\n" for line in self.lines)
