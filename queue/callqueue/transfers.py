"""Transfers of a call: each one recorded on the call, and Redirects (no event) spotted.

The handlers arm `watch` (a `RedirectWatch`) when a caller's channel leaves its agent;
`check` then turns a move elsewhere into a `redirect` transfer, and a transfer event
(`record`) explains the move instead.
"""

from __future__ import annotations

from callqueue.call_book import CallBook
from callqueue.calls import CallState, QueueEntry, Transfer, TransferKind
from callqueue.event_values import utc
from callqueue.redirects import RedirectWatch, SuspectedRedirect
from core.ami.parser import AmiMessage
from core.facts import CallFact, CallTransferred


class Transfers:
    """Records transfers on the calls of `book`; `watch` holds the suspected Redirects."""

    def __init__(self, book: CallBook) -> None:
        self._book = book
        self.watch = RedirectWatch()

    def record(
        self, call: CallState, kind: TransferKind, to: str, context: str, from_agent: str, at: float
    ) -> list[CallFact]:
        """The call was transferred: it is on its way to `to`, no longer connected."""
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
        self.watch.forget_call(call.linkedid)
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

    def check(self, message: AmiMessage, at: float) -> list[CallFact]:
        """Observe the channel's place and, if it moved away, count the Redirect."""
        if not self.watch:
            return []
        self.watch.observe(message, at)
        return self._redirected(self.watch.confirm(message.get("Channel")))

    def confirm_entry(self, entry: QueueEntry) -> list[CallFact]:
        """The queue call of `entry` ended with no transfer event: its suspects stand."""
        facts: list[CallFact] = []
        for suspect in self.watch.confirm_entry(entry):
            facts += self._redirected(suspect)
        return facts

    def _redirected(self, suspect: SuspectedRedirect | None) -> list[CallFact]:
        if suspect is None:
            return []
        call = self._book.calls.get(suspect.entry.linkedid)
        if call is None:
            return []
        return self.record(
            call, "redirect", suspect.exten, suspect.context, suspect.from_agent, suspect.at
        )
