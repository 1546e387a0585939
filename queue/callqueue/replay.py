"""Replay recorded AMI sessions through the parser and tracker: the calls and service level."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from callqueue.calls import QueueEntry
from callqueue.tracker import CallTracker
from core.ami.parser import AmiParser
from core.facts import CallFact
from core.service_level import DEFAULT_SHORT_ABANDON_S, DEFAULT_THRESHOLD_S, service_level

READ_CHUNK_BYTES = 64 * 1024


class ReplayClock:
    """Receive time for events without `Timestamp:`: the latest timestamp seen, so a
    recording without timestamps replays at one instant and waits fall back to HoldTime."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def replay_sessions(
    sessions: Iterable[bytes],
    tracker: CallTracker | None = None,
    chunk_bytes: int = READ_CHUNK_BYTES,
    on_fact: Callable[[CallFact], None] | None = None,
) -> CallTracker:
    """Feed each recorded session (bytes as received) through a fresh parser, as the
    tracker's successive AMI connections would, into one tracker."""
    tracker = tracker or CallTracker(keep_finished=True)
    clock = ReplayClock()
    for data in sessions:
        parser = AmiParser(clock=clock)
        for start in range(0, len(data), chunk_bytes):
            for message in parser.feed(data[start : start + chunk_bytes]):
                stamp = message.headers.get("Timestamp") if message.is_event else None
                if stamp:
                    clock.now = float(stamp)
                facts = tracker.handle(message)
                if on_fact is not None:
                    for fact in facts:
                        on_fact(fact)
    return tracker


def entry_row(entry: QueueEntry, uin: str) -> dict[str, Any]:
    return {
        "linkedid": entry.linkedid,
        "entry": entry.entry,
        "queue": entry.queue,
        "caller_num": entry.caller_num,
        "caller_name": entry.caller_name,
        "uin": uin,
        "outcome": entry.outcome,
        "wait_s": round(entry.wait_s, 3) if entry.wait_s is not None else None,
        "agent": entry.agent,
        "transfers": [
            {"kind": t.kind, "to": t.to, "context": t.context, "from_agent": t.from_agent}
            for t in entry.transfers
        ],
    }


def replay_report(
    paths: Iterable[Path],
    threshold_s: int = DEFAULT_THRESHOLD_S,
    short_abandon_s: int = DEFAULT_SHORT_ABANDON_S,
) -> dict[str, Any]:
    """The `hotline replay --json` object: one row per queue entry, and service level."""
    tracker = replay_sessions(Path(path).read_bytes() for path in paths)
    uins = {call.linkedid: call.uin for call in [*tracker.finished, *tracker.calls.values()]}
    entries = tracker.entries()
    return {
        "calls": [entry_row(entry, uins.get(entry.linkedid, "")) for entry in entries],
        "service_level": service_level(
            [e.as_outcome() for e in entries], threshold_s, short_abandon_s
        ),
    }
