"""The normaliser: AMI events in, call facts (keyed by Linkedid) out, plus agent state.

>>> from core.ami.parser import AmiParser
>>> tracker = CallTracker()
>>> parser = AmiParser(wanted=tracker.wanted_events)
>>> [f.kind for m in parser.feed(b"Event: Newchannel\\nChannel: PJSIP/t-1\\n"
...  b"Linkedid: 1.1\\nUniqueid: 1.1\\nTimestamp: 1795311765.4\\n\\n") for f in tracker.handle(m)]
['started']

The tracker owns its collaborators, each with its own state: the `CallBook` (calls and
the maps to find them), the `AgentBoard`, `Transfers` (with the Redirect watch), and
`Resync`; the handler groups `ChannelEvents` and `QueueEvents` are given them. Handlers
are named `on_ami_<Event>`; an event without one costs one dict look-up and its headers
are never parsed.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Iterable

from callqueue.agents import AgentBoard
from callqueue.call_book import CallBook
from callqueue.calls import CallState, QueueEntry
from callqueue.channel_events import ChannelEvents
from callqueue.event_values import checked_wait
from callqueue.queue_events import QueueEvents
from callqueue.resync import Resync
from callqueue.transfers import Transfers
from core.ami.parser import AmiMessage
from core.facts import CallFact, CallTicketed
from core.queue_log import QueueLogRecord

__all__ = ["CallTracker", "checked_wait"]

log = logging.getLogger(__name__)
# Later than any real event (year 2286): a Timestamp past it is garbage, not a date.
LATEST_TIMESTAMP = 1e10

Handler = Callable[[AmiMessage, float], list[CallFact]]
# Events that matter only while a Redirect is suspected; skipped unparsed otherwise.
# (Newexten would show a move sooner, but it is of the `dialplan` class, which the
# tracker does not ask for: `call` and `agent` events show the move soon enough.)
WATCH_ONLY = {"DialBegin"}


def handlers_of(*groups: object) -> dict[str, Handler]:
    """`{"Hangup": group.on_ami_Hangup, ...}` over the handler groups."""
    found: dict[str, Handler] = {}
    for group in groups:
        for name in dir(group):
            if name.startswith("on_ami_"):
                event = name[len("on_ami_") :]
                if event in found:
                    raise ValueError(f"two handlers for {event}")
                found[event] = getattr(group, name)
    return found


def event_time(message: AmiMessage) -> float:
    """The event's `Timestamp` (epoch seconds), or when it was read if it has none.

    A Timestamp that is no time (not a number, infinite, past year 2286) makes the event
    unreadable, like any other bad field: ValueError.

    >>> from core.ami.parser import AmiParser
    >>> [m] = AmiParser().feed(b"Event: Hangup\\r\\nTimestamp: 1e308\\r\\n\\r\\n")
    >>> event_time(m)
    Traceback (most recent call last):
    ...
    ValueError: Timestamp 1e308 is not a time
    """
    stamp = message.headers.get("Timestamp")
    if not stamp:
        return message.received_at
    at = float(stamp)
    if not (math.isfinite(at) and 0 < at < LATEST_TIMESTAMP):
        raise ValueError(f"Timestamp {stamp} is not a time")
    return at


class CallTracker:
    """Keeps open calls and turns each event into zero or more call facts."""

    def __init__(
        self,
        agents: AgentBoard | None = None,
        keep_finished: bool = False,
        on_call_finished: Callable[[CallState], None] | None = None,
    ) -> None:
        self.book = CallBook(keep_finished, on_call_finished)
        self._transfers = Transfers(self.book)
        self.agents = agents or AgentBoard()  # builds the handlers and the resync
        self.errors = 0  # events that could not be understood

    @property
    def agents(self) -> AgentBoard:
        """The live agent state the events keep."""
        return self._agents

    @agents.setter
    def agents(self, board: AgentBoard) -> None:
        """Keep agent state on `board`: the handler groups and the resync get it (give it
        before the first login, as the resync's own record starts again)."""
        self._agents = board
        self._resync = Resync(self.book, board, self.handle)
        self._resync.record.replay = self._replay
        self._handlers = handlers_of(
            ChannelEvents(self.book, self._transfers, board),
            QueueEvents(self.book, self._transfers, board),
        )

    # -- the hot path -------------------------------------------------------------------

    @property
    def wanted_events(self) -> frozenset[str]:
        """The events this tracker reads; give it to `AmiParser(wanted=...)`."""
        return frozenset(self._handlers)

    def handle(self, message: AmiMessage) -> list[CallFact]:
        """Facts that this event establishes (often none)."""
        if not message.is_event:
            return []
        if self._resync.touched is not None:  # only between a login and its resync
            if self._resync.holds(message):
                return []
            self._resync.note_event(message)
        handler = self._handlers.get(message.name)  # type: ignore[arg-type]
        if handler is None or (message.name in WATCH_ONLY and not self._transfers.watch):
            return []
        try:
            return handler(message, event_time(message))
        except Exception as exc:  # one event, whatever is wrong with it
            # One odd event (a bad number, a fact that fails validation, a date out of
            # range) must not stop the stream: it is logged with the event and counted
            # (the tests require zero on Asterisk's own transcripts).
            self.errors += 1
            log.warning(
                "AMI %s event not understood (%s: %s): %r",
                message.name,
                type(exc).__name__,
                exc,
                message.text[:200],
            )
            return []

    def _replay(self, message: AmiMessage) -> list[CallFact]:
        """An event rebuilt from Asterisk's record (queue_log), through its handler."""
        handler = self._handlers.get(message.name)  # type: ignore[arg-type]
        return handler(message, event_time(message)) if handler is not None else []

    # -- what it knows ------------------------------------------------------------------

    @property
    def calls(self) -> dict[str, CallState]:
        """The open calls by Linkedid."""
        return self.book.calls

    @property
    def finished(self) -> list[CallState]:
        """The calls that ended, with `keep_finished`."""
        return self.book.finished

    @property
    def outcomes_seen(self) -> dict[str, int]:
        """Completions and abandons per queue since the last resync."""
        return self.book.outcomes_seen

    @property
    def unseen(self) -> dict[str, int]:
        """What resyncs found that no event had shown (joined, answered, ended, missed)."""
        return self._resync.unseen

    def entries(self) -> list[QueueEntry]:
        """Queue entries in order of joining: all seen with `keep_finished`, else those
        of the open calls."""
        return self.book.entries()

    def longest_wait_now_s(self, now: float, queue: str | None = None) -> float:
        """How long the longest-waiting caller still in a queue has waited so far."""
        return self.book.longest_wait_now_s(now, queue)

    # -- resynchronisation after an AMI outage (see `resync`) ---------------------------

    def begin_resync(self) -> None:
        """At login: note which calls show life until the snapshots are applied."""
        self._resync.begin()

    def cancel_resync(self) -> None:
        """The snapshots will not come (the session died)."""
        self._resync.cancel()

    def note_event(self, message: AmiMessage) -> None:
        self._resync.note_event(message)

    def restore(self, call: CallState) -> None:
        """Take back an open call a tracker before this one kept (`checkpoint`): the
        next resync closes it or continues it, as Asterisk shows it."""
        if call.linkedid in self.book.calls:
            return
        self.book.calls[call.linkedid] = call
        for entry in call.entries:
            if entry.answered and not entry.completed and entry.agent:
                self.book.connect(entry)

    def use_queue_log(self, records: dict[str, list[QueueLogRecord]]) -> None:
        """Asterisk's queue_log records (by call id) for the next resync's ended calls."""
        self._resync.record.queue_log = records

    def use_outage_facts(
        self,
        tickets: dict[str, tuple[CallTicketed, float]],
        ended: set[str],
        *,
        unseen_since: float | None = None,
        told: set[str] | None = None,
        told_joins: set[tuple[str, int]] | None = None,
        callids: dict[str, set[str]] | None = None,
    ) -> None:
        """The `ticketed` facts published while the tracker was down and the calls told
        `ended` then: the next resync closes the tickets' calls it finds gone. With
        `unseen_since` (Asterisk's clock), queue_log's calls that entered a queue since
        then and are over, that neither these nor `told` (queue_log call ids the facts
        tell) nor `told_joins` (queue and second of `queued` facts without a call id)
        cover, are told from queue_log alone: no tracker saw them, no AGI told them.
        `callids`: the channel Uniqueids (queue_log's call ids) the `ticketed` facts give
        each call, for an open call that joined its queue only while the tracker was away."""
        record = self._resync.record
        record.tickets, record.ended = tickets, ended
        record.callids = callids or {}
        record.unseen_since = unseen_since
        record.told, record.told_joins = told or set(), told_joins or set()

    @property
    def found_in_queue_log(self) -> int:
        """Calls no tracker saw and no AGI told, found whole in queue_log and told from it."""
        return self._resync.record.found_in_queue_log

    @property
    def closed_from_queue_log(self) -> int:
        """Calls that ended while the tracker was away, closed with what queue_log says."""
        return self._resync.record.closed_from_queue_log

    def apply_resync(
        self, channels: Iterable[AmiMessage], queue_status: Iterable[AmiMessage], at: float
    ) -> list[CallFact]:
        """Bring the open calls in line with `CoreShowChannels` and `QueueStatus`."""
        try:
            return self._resync.apply(channels, queue_status, at)
        finally:
            self._resync.record.queue_log = {}
