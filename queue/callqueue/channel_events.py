"""Channel, bridge and transfer events: who is on the call, where, and when it ends."""

from __future__ import annotations

from callqueue.agents import AgentBoard
from callqueue.call_book import CallBook
from callqueue.event_values import as_int
from callqueue.tickets import ticketed
from callqueue.transfers import Transfers
from core.ami.channels import local_half, local_partner
from core.ami.parser import AmiMessage
from core.facts import CallFact

# How late a BlindTransfer event may follow the move it reports.
LATE_TRANSFER_EVENT_S = 5.0
# A dial that ended with one of these stopped the agent's ringing.
RING_ENDED = {"CANCEL", "NOANSWER", "BUSY", "CHANUNAVAIL", "CONGESTION"}


class ChannelEvents:
    """Handlers for channels coming and going, bridges, dials and transfers."""

    def __init__(self, book: CallBook, transfers: Transfers, agents: AgentBoard) -> None:
        self._book = book
        self._transfers = transfers
        self._agents = agents

    def on_ami_Newchannel(self, message: AmiMessage, at: float) -> list[CallFact]:
        linkedid = message.get("Linkedid")
        channel = message.get("Channel")
        if not linkedid or not channel:
            raise KeyError("Newchannel without Linkedid or Channel")
        facts: list[CallFact] = []
        call = self._book.open(linkedid, at)
        if not call.channel:
            call.channel = channel
            call.dialled = message.get("Exten")
            call.learn_caller(message.get("CallerIDNum"), message.get("CallerIDName"))
            facts.append(self._book.started(call))
        call.channels.add(channel)
        if message.get("Uniqueid") == linkedid:
            call.caller_channels.add(channel)
            if local_half(channel) == 1:
                # The caller's handset half; its `;2` partner runs the dialplan.
                call.caller_channels.add(local_partner(channel))
        return facts

    def on_ami_NewCallerid(self, message: AmiMessage, at: float) -> list[CallFact]:
        """The caller's number and name, set after the channel was made (a `Newchannel`
        that said `<unknown>`, or the dialplan's `CALLERID()`): `started` told again.

        Only the caller's own channels count: the agents' channels of the same call carry
        the caller's ID too, or, on a SIP phone, the agent's own. (`NewConnectedLine` is
        not read: on the caller's channel it names whom the caller talks to, the agent.)"""
        call = self._book.calls.get(message.get("Linkedid"))
        if call is None or message.get("Channel") not in call.caller_channels:
            return []
        return self._book.caller_seen(call, message)

    def on_ami_Hangup(self, message: AmiMessage, at: float) -> list[CallFact]:
        facts = self._transfers.check(message, at)
        channel = message.get("Channel")
        self._transfers.watch.forget_channel(channel)
        book = self._book
        call = book.calls.get(message.get("Linkedid"))
        if call is None:
            return facts
        if not call.hung_up_by:
            if channel in call.caller_channels:
                call.hung_up_by = "caller"
            elif (
                call.connected
                and book.agent_by_channel.get(channel, call.current_agent) == call.current_agent
            ):
                call.hung_up_by = "agent"
        book.agent_by_channel.pop(channel, None)
        call.channels.discard(channel)
        if not call.channels:
            facts += book.abandon_waiting(call, at)
            facts.append(book.end(call, at))
        return facts

    def on_ami_BridgeEnter(self, message: AmiMessage, at: float) -> list[CallFact]:
        facts = self._transfers.check(message, at)
        call = self._book.calls.get(message.get("Linkedid"))
        if (
            call is not None
            and call.transferring
            and call.entries
            and message.get("Channel") == call.entries[-1].channel
        ):
            call.transferring = False  # the caller talks to the transfer target now
            call.connected = True
        return facts

    def on_ami_BridgeLeave(self, message: AmiMessage, at: float) -> list[CallFact]:
        channel = message.get("Channel")
        watch = self._transfers.watch
        call = self._book.calls.get(message.get("Linkedid"))
        if call is not None and call.entries and not call.transferring:
            entry = call.entries[-1]
            if (
                entry.channel == channel
                and entry.answered
                and not entry.completed
                and not entry.transfers
            ):
                # Leaving while the agent is still on: a transfer, or a hang-up on the way.
                # (Once a transfer of it is counted, the caller left that agent already:
                # after a Redirect app_queue closes the queue call only at the call's end.)
                watch.arm(channel, entry)
            elif (
                call.connected
                and channel in call.caller_channels
                and (as_int(message.get("BridgeNumChannels")) or 0) >= 1
            ):
                # Leaving a transfer target (not a queue member) who is still on: a Redirect
                # from there shows only as the caller turning up elsewhere.
                watch.arm(
                    channel, entry, (message.get("Context"), message.get("Exten")), from_agent=""
                )
        if watch:
            watch.observe(message, at)
        return []

    def on_ami_DialBegin(self, message: AmiMessage, at: float) -> list[CallFact]:
        return self._transfers.check(message, at)

    def on_ami_DialEnd(self, message: AmiMessage, at: float) -> list[CallFact]:
        # A caller hanging up while agents ring gives DialEnd CANCEL (sometimes twice)
        # and no AgentRingNoAnswer: that is the only sign the ringing stopped.
        if message.get("DialStatus") in RING_ENDED:
            agent = self._book.agent_by_channel.get(message.get("DestChannel"))
            if agent:
                self._agents.ring_ended(agent, at)
        return []

    def on_ami_BlindTransfer(self, message: AmiMessage, at: float) -> list[CallFact]:
        if message.get("Result") != "Success":
            return []
        call = self._book.calls.get(
            message.get("TransfereeLinkedid") or message.get("TransfererLinkedid")
        )
        if call is None:
            return []
        from_agent = self._book.agent_by_channel.get(message.get("TransfererChannel"), "")
        facts = ticketed(call, message, "Transferee")
        last = call.transfers[-1] if call.transfers else None
        if (
            last is not None
            and last.kind == "redirect"
            and (last.context, last.to) == (message.get("Context"), message.get("Extension"))
            and at - last.at <= LATE_TRANSFER_EVENT_S
        ):
            # The event came after the caller already acted from the new place, which was
            # then taken for a Redirect: it is the same transfer, counted once.
            return facts
        return facts + self._transfers.record(
            call, "blind", message.get("Extension"), message.get("Context"), from_agent, at
        )

    def on_ami_AttendedTransfer(self, message: AmiMessage, at: float) -> list[CallFact]:
        if message.get("Result") != "Success":
            return []
        call = self._book.calls.get(
            message.get("TransfereeLinkedid") or message.get("OrigTransfererLinkedid")
        )
        if call is None:
            return []
        from_agent = self._book.agent_by_channel.get(message.get("OrigTransfererChannel"), "")
        if message.get("DestType") == "App":
            to = message.get("DestApp")
        else:
            to = message.get("TransferTargetExten") or message.get("TransferTargetChannel")
        return self._transfers.record(
            call, "attended", to, message.get("TransferTargetContext"), from_agent, at
        )
