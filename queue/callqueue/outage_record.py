"""What Asterisk and the fact stream kept of the calls of a tracker outage, for the resync.

After a restart (or whenever Asterisk's queue_log is at hand) the resync closes calls that
ended while the tracker was away with what app_queue logged of them (`queue_log`), and
finds the calls no tracker saw: those the AGI told (`ticketed` facts with the channel's
Uniqueid, read back from the stream) and those only queue_log knows. This holds that
record and replays a call's lines as the AMI events they stand for; `resync` decides
which calls it tells and closes them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from callqueue.call_book import CallBook
from callqueue.calls import CallState, QueueEntry
from callqueue.queue_log import as_event
from core.ami.parser import AmiMessage
from core.facts import CallFact, CallTicketed
from core.queue_log import LEFT_WAITING, TALK_ENDED, QueueLogRecord

ENDS_A_STAY = LEFT_WAITING | TALK_ENDED


class OutageRecord:
    """queue_log's lines by call id and the facts of the outage, read at a login."""

    def __init__(self, book: CallBook) -> None:
        self._book = book
        # Asterisk's queue_log records by call id, read at the login (`use_queue_log`),
        # and how to hand the events they stand for to the tracker's handlers.
        self.queue_log: dict[str, list[QueueLogRecord]] = {}
        self.replay: Callable[[AmiMessage], list[CallFact]] | None = None
        self.closed_from_queue_log = 0  # calls ended while away, told by queue_log
        self.found_in_queue_log = 0  # calls no tracker saw, told from queue_log alone
        # `ticketed` facts published while the tracker was down (a restart): calls it
        # never saw; those gone by the resync are told from queue_log and closed.
        self.tickets: dict[str, tuple[CallTicketed, float]] = {}  # with when told
        self.ended: set[str] = set()  # calls told `ended` meanwhile
        # After a restart: queue_log's calls entering a queue from `unseen_since` on
        # (Asterisk's clock) that no fact told (`told`: the queue_log call ids of the
        # facts read back; `told_joins`: queue and second of `queued` facts without one,
        # from older trackers) came and went unseen: they are told from queue_log alone.
        self.unseen_since: float | None = None
        self.told: set[str] = set()
        self.told_joins: set[tuple[str, int]] = set()
        # The channel Uniqueids the `ticketed` facts read back give each call: where
        # queue_log keeps the stay of an open call the tracker before saw in the IVR.
        self.callids: dict[str, set[str]] = {}

    def forget_outage(self) -> None:
        """The resync is done with the outage's facts."""
        self.tickets, self.ended = {}, set()
        self.unseen_since, self.told, self.told_joins = None, set(), set()
        self.callids = {}

    def told_before(self) -> set[str]:
        """The queue_log call ids of the calls known: the open calls' queue entries, the
        outage's tickets, the facts read back (and Linkedids: a SIP caller's Uniqueid is
        its call's Linkedid)."""
        told = set(self.told) | set(self._book.calls) | set(self.tickets) | self.ended
        told |= {ticket.uniqueid for ticket, _at in self.tickets.values() if ticket.uniqueid}
        for call in self._book.calls.values():
            told |= {entry.uniqueid for entry in call.entries if entry.uniqueid}
        return told

    def unseen(self, told: set[str]) -> Iterator[tuple[str, list[QueueLogRecord]]]:
        """Calls queue_log tells whole (from `ENTERQUEUE` at `unseen_since` or later to
        the end of their stay) that nothing in `told` covers: no tracker saw them and
        they did not reach the AGI."""
        since = self.unseen_since
        if since is None:
            return
        for callid, records in self.queue_log.items():
            first, last = records[0], records[-1]
            if (
                callid in told
                or callid in self._book.calls
                or first.event != "ENTERQUEUE"
                or first.at < since
                or last.event not in ENDS_A_STAY  # still there: the snapshots tell it
                or any((first.queue, first.at + d) in self.told_joins for d in (-1, 0, 1))
            ):
                continue
            yield callid, records

    def replay_stays(
        self, call: CallState, records: list[QueueLogRecord]
    ) -> tuple[list[CallFact], float]:
        """Replay a call's queue_log lines from `ENTERQUEUE` on (a stay already open is
        not opened again, no step is told twice); the facts and the last line's time."""
        facts: list[CallFact] = []
        last = 0.0
        if self.replay is None:
            return facts, last
        for record in records:
            entry = call.open_entry(record.queue)
            if record.event != "ENTERQUEUE" and (entry is None or not applies(record, entry)):
                continue
            if record.event == "ENTERQUEUE" and entry is not None and entry.outcome == "waiting":
                continue
            facts += self.replay(as_event(record, linkedid=call.linkedid, channel=""))
            last = max(last, float(record.at))
        return facts, last

    def tell_ended(self, call: CallState) -> tuple[list[CallFact], float | None]:
        """Replay what app_queue logged of a call that ended while we were away (answer,
        completion, abandon), as the events it stands for; the facts and the time of
        the last record, None when queue_log has nothing of it."""
        facts: list[CallFact] = []
        last: float | None = None
        if self.replay is None or not self.queue_log:
            return facts, last
        for entry in list(call.entries):
            for record in self.queue_log.get(entry.uniqueid, []) if entry.uniqueid else []:
                if record.queue != entry.queue or record.at < int(entry.joined_at) - 1:
                    continue
                if not applies(record, entry):
                    continue
                event = as_event(record, linkedid=call.linkedid, channel=entry.channel)
                facts += self.replay(event)
                last = max(last or 0.0, float(record.at))
        if not call.entries:
            # In the IVR when the tracker before went away: its whole stay came after.
            # queue_log keeps it under the channel's Uniqueid: the Linkedid of a SIP
            # caller, the `;2`'s of a Local one (its `ticketed` fact gives it).
            for callid in sorted({call.linkedid, *self.callids.get(call.linkedid, ())}):
                stay, at = self.replay_stays(call, self.queue_log.get(callid, []))
                facts += stay
                if at:
                    last = max(last or 0.0, at)
        if last is not None:
            self.closed_from_queue_log += 1
        return facts, last


def applies(record: QueueLogRecord, entry: QueueEntry) -> bool:
    """Whether a queue_log step is still to be told for `entry` (none is told twice)."""
    if record.event == "ENTERQUEUE":
        return False  # the entry is there
    if record.event == "CONNECT":
        return not entry.answered and not entry.abandoned
    if record.event == "ABANDON":
        return not entry.answered and not entry.abandoned
    if record.event in LEFT_WAITING:  # a timeout, an empty queue, a key: left unanswered
        return not entry.answered and not entry.abandoned and entry.left_at is None
    # COMPLETECALLER, COMPLETEAGENT, TRANSFER: after a CONNECT (told now or before)
    return entry.answered and not entry.completed
