"""The tracker's state and the helpers its event handlers share.

Handlers are named `on_ami_<Event>`; events without a handler cost one dict look-up and
their headers are never parsed. Time is the event's `Timestamp:` header when Asterisk
sends one (`timestampevents=yes`), else the moment the frame was received (the
parser's injectable clock); `HoldTime` checks the waits computed from those times.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime

from callqueue.agents import AgentBoard
from callqueue.calls import CallState, QueueEntry, Transfer, TransferKind
from callqueue.redirects import RedirectWatch, SuspectedRedirect
from core.ami.parser import AmiMessage
from core.facts import (
    CallFact,
    CallTicketed,
    CallTransferred,
)

log = logging.getLogger(__name__)

RING_ENDED = {"CANCEL", "NOANSWER", "BUSY", "CHANUNAVAIL", "CONGESTION"}
HANGUP_REASONS = {"caller", "agent"}
# Events that matter only while a Redirect is suspected; skipped unparsed otherwise.
# (Newexten would show a move sooner, but it is of the `dialplan` class, which the
# tracker does not ask for: `call` and `agent` events show the move soon enough.)
WATCH_ONLY = {"DialBegin"}


def utc(at: float) -> datetime:
    return datetime.fromtimestamp(at, UTC)


def as_int(value: str) -> int | None:
    return int(value) if value.lstrip("-").isdigit() else None


def checked_wait(start: float, end: float, hold_time_s: int | None) -> float:
    """The wait from two event times, unless `HoldTime` proves them wrong.

    HoldTime is a difference of truncated clock seconds, so the true wait lies strictly
    within one second of it; outside that (no timestamps, a clock jump) trust HoldTime.
    """
    wait_s = end - start
    if hold_time_s is not None and abs(wait_s - hold_time_s) >= 1.0:
        return float(hold_time_s)
    return max(wait_s, 0.0)


class TrackerCore:
    """Open calls, agent maps and the helpers the `on_ami_*` handlers share."""

    def __init__(
        self,
        agents: AgentBoard | None = None,
        keep_finished: bool = False,
        on_call_finished: Callable[[CallState], None] | None = None,
    ) -> None:
        self.calls: dict[str, CallState] = {}
        self.finished: list[CallState] = []
        self._entry_log: list[QueueEntry] = []  # every entry, when keep_finished
        self.agents = agents or AgentBoard()
        self._keep_finished = keep_finished
        self._on_call_finished = on_call_finished
        self._agent_by_channel: dict[str, str] = {}
        self._talking: dict[tuple[str, str], QueueEntry] = {}  # (queue, member) -> entry
        self._redirects = RedirectWatch()
        self.errors = 0  # events that could not be understood
        # Completions and abandons per queue since the last resync, to check against the
        # counters of QueueParams: what they show and we did not came and went unseen.
        self.outcomes_seen: dict[str, int] = {}
        self._handlers: dict[str, Callable[[AmiMessage, float], list[CallFact]]] = {
            name[len("on_ami_") :]: getattr(self, name)
            for name in dir(self)
            if name.startswith("on_ami_")
        }

    # -- entry points -------------------------------------------------------------

    @property
    def wanted_events(self) -> frozenset[str]:
        """The events this tracker reads; give it to `AmiParser(wanted=...)`."""
        return frozenset(self._handlers)

    def handle(self, message: AmiMessage) -> list[CallFact]:
        """Facts that this event establishes (often none)."""
        if not message.is_event:
            return []
        handler = self._handlers.get(message.name)  # type: ignore[arg-type]
        if handler is None or (message.name in WATCH_ONLY and not self._redirects):
            return []
        try:
            stamp = message.headers.get("Timestamp")
            at = float(stamp) if stamp else message.received_at
            return handler(message, at)
        except (ValueError, KeyError, TypeError) as exc:
            # One odd event (a bad number, a fact that fails validation) must not stop
            # the stream; it is logged and counted, and the tests require zero.
            self.errors += 1
            log.warning(
                "AMI %s event not understood (%s): %r", message.name, exc, message.text[:200]
            )
            return []

    def entries(self) -> list[QueueEntry]:
        """Queue entries in order of joining: all seen with `keep_finished`, else those
        of the open calls."""
        if self._keep_finished:
            return list(self._entry_log)
        return [entry for call in self.calls.values() for entry in call.entries]

    def longest_wait_now_s(self, now: float, queue: str | None = None) -> float:
        """How long the longest-waiting caller still in a queue has waited so far."""
        waits = [
            now - entry.joined_at
            for call in self.calls.values()
            for entry in call.entries
            if entry.outcome == "waiting" and (queue is None or entry.queue == queue)
        ]
        return max(waits, default=0.0)

    # -- helpers ------------------------------------------------------------------

    def _count_outcome(self, queue: str) -> None:
        self.outcomes_seen[queue] = self.outcomes_seen.get(queue, 0) + 1

    def _call(self, message: AmiMessage, at: float, key: str = "Linkedid") -> CallState:
        linkedid = message.get(key)
        if not linkedid:
            raise KeyError(f"{message.name} without {key}")
        call = self.calls.get(linkedid)
        if call is None:
            # Joined mid-call (tracker restarted): start from what this event shows.
            call = self.calls[linkedid] = CallState(linkedid=linkedid, started_at=at)
        return call

    def _ticket(self, call: CallState, message: AmiMessage, prefix: str = "") -> list[CallFact]:
        variables = message.variables(prefix)
        uin = variables.get("UIN", "")
        if not uin or uin == call.uin:
            return []
        call.uin = uin
        call.ticket_ref = variables.get("TICKET_ID", "")
        return [CallTicketed(linkedid=call.linkedid, uin=uin, ticket_id=as_int(call.ticket_ref))]

    def _transfer(
        self, call: CallState, kind: TransferKind, to: str, context: str, from_agent: str, at: float
    ) -> list[CallFact]:
        transfer = Transfer(
            n=len(call.transfers) + 1,
            kind=kind,
            to=to,
            context=context,
            from_agent=from_agent,
            at=at,
        )
        call.transfers.append(transfer)
        if call.entries:
            call.entries[-1].transfers.append(transfer)
        call.transferring = True
        call.connected = False
        call.hung_up_by = ""
        self._redirects.forget_call(call.linkedid)
        return [
            CallTransferred(
                linkedid=call.linkedid,
                n=transfer.n,
                how=kind,
                from_agent=transfer.from_agent,
                to=to,
                dialplan_context=context or "",
                at=utc(at),
            )
        ]

    def _redirected(self, suspect: SuspectedRedirect | None) -> list[CallFact]:
        if suspect is None:
            return []
        call = self.calls.get(suspect.entry.linkedid)
        if call is None:
            return []
        return self._transfer(
            call, "redirect", suspect.exten, suspect.context, suspect.from_agent, suspect.at
        )

    def _check_redirect(self, message: AmiMessage, at: float) -> list[CallFact]:
        """Observe the channel's place and, if it moved away, count the Redirect."""
        if not self._redirects:
            return []
        self._redirects.observe(message, at)
        return self._redirected(self._redirects.confirm(message.get("Channel")))

    def _talking_entry(self, message: AmiMessage) -> QueueEntry | None:
        """The answered entry an Agent* event is about; AgentComplete at times comes
        without caller channel headers, so match by queue and member first."""
        entry = self._talking.get((message.get("Queue"), message.get("MemberName")))
        if entry is not None:
            return entry
        call = self.calls.get(message.get("Linkedid"))
        return call.open_entry(message.get("Queue")) if call else None
