"""Transfers in the model: BlindTransfer, Atxfer (completed or cancelled), Redirect, and
an agent's own phone transferring blind through the dialplan's TRANSFER_CONTEXT."""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

from asterisksim.calls import Call, Leg
from asterisksim.errors import SimError
from asterisksim.frames import CLASSES
from asterisksim.truth import TransferTruth

if TYPE_CHECKING:
    from asterisksim.pbx import PBX

CALL = CLASSES["call"]
# [hotline-transfer] sends an allowed transfer on with Goto(hotline-targets,${EXTEN},1).
TARGETS_CONTEXT = "hotline-targets"
# [hotline-transfer] refused: Dial(${CUT(BLINDTRANSFER,-,1)},30,tT) rings the agent back.
DIAL_BACK_TIMEOUT_S = 30.0
_CID_PRES = "CID-CallingPres: 0 (Presentation Allowed, Not Screened)\r\n"


def _bridge(bridge_id: str, count: int, prefix: str = "") -> str:
    from asterisksim.pbx import bridge_headers

    return bridge_headers(bridge_id, count, prefix)


class TransferEngine:
    """Mixed into PBX: what happens when an agent or the API moves a caller on."""

    def _bridged_leg(self: PBX, channel: str) -> tuple[Call, Leg]:
        call, leg = self.find(channel)
        if leg is None or call.state != "bridged" or call.leg is not leg:
            raise SimError("No such channel")
        return call, leg

    def leave_bridge(self: PBX, call: Call, leg: Leg) -> None:
        self.bridge_event("BridgeLeave", call.bridge_id, 1, call.two)
        self.bridge_event("BridgeLeave", call.bridge_id, 0, leg.one)
        self.hangup_event(leg.one, 16)
        self.hangup_event(leg.two, 16)
        self.member_done(leg)
        if leg.timer is not None:
            leg.timer.cancel()
        call.leg, call.via = None, None

    def goto_target(self: PBX, call: Call, context: str, exten: str) -> None:
        """Run the caller's ;2 from `context,exten` (the transfer-targets extensions)."""
        call.two.set(context=context, exten=exten, priority=1)
        kind, name = self.config.transfer_targets.get(exten, ("", ""))
        if kind == "agent":
            call.two.set(priority=2, app="Dial", app_data=f"Local/{name}@agents/n")
            self.dial_agent(call, name)
        elif kind == "queue":
            self.join_queue(call, name)
        elif kind == "ivr":
            call.state = "ivr"
            call.two.set(app="Playback", app_data="hotline-menu")
        else:
            self.hangup_event(call.two, 16)
            self.hangup_event(call.one, 16)
            call.state = "gone"

    def blind_transfer(self: PBX, channel: str, context: str, exten: str) -> None:
        call, leg = self._bridged_leg(channel)
        # The transferer's channel is taken off hold first (04, 08: Unhold, then the event).
        self.chan_event("Unhold", leg.one)
        self._blind_transfer_event(call, leg, context, exten, external=True)
        self.agent_complete(call, leg, "transfer")
        self.leave_bridge(call, leg)
        self._record(call, "blind", leg.agent, context, exten)
        self.goto_target(call, context, exten)

    def _blind_transfer_event(
        self: PBX, call: Call, leg: Leg, context: str, exten: str, *, external: bool
    ) -> None:
        """`BlindTransfer`; `IsExternal: Yes` for an AMI action, `No` for the phone's own."""
        self.emit(
            CALL,
            "BlindTransfer",
            "Result: Success\r\n"
            + self.blk(leg.one, "Transferer")
            + self.blk(call.two, "Transferee")
            + _bridge(call.bridge_id, 2)
            + f"IsExternal: {'Yes' if external else 'No'}\r\n"
            + f"Context: {context}\r\nExtension: {exten}\r\n",
        )

    # -- the agent's phone transfers blind ---------------------------------------------------
    def phone_blind_transfer(self: PBX, channel: str, exten: str) -> None:
        """The agent on `channel` transfers blind from the phone (features' blindxfer or a
        SIP REFER), not over AMI.

        What Asterisk 22 does (main/bridge_basic.c feature_blind_transfer, main/bridge.c
        ast_bridge_transfer_blind), and so the model:
        - the context is the transferer's TRANSFER_CONTEXT (inherited from the caller's
          `__TRANSFER_CONTEXT`), else the transferer's own context; the AMI BlindTransfer
          action instead names its Context, so `blind_transfer` never looks at the variable;
        - the transferer is put on hold, taken off it, and the transfer is reported at once
          (`BlindTransfer`, `IsExternal: No`: not an AMI action), whatever the dialplan it
          leads to decides later; the agent leaves the bridge (AgentComplete transfer) and
          the caller's channel gets BLINDTRANSFER=<transferer's channel>;
        - the caller's channel then runs `context,exten`. For the transfer context that is
          [hotline-transfer]: AGI(transfer,${EXTEN}); AGISTATUS not SUCCESS (the AGI
          server down) goes `back` to Queue(hotline); TRANSFER_ALLOWED=0 Dials the agent
          who tried back for 30 s (then Queue(hotline)): a blind transfer has already
          taken the caller from the agent, and a dialplan that simply ended would hang
          the caller up; anything else goes on to [hotline-targets] `exten`.
        """
        call, leg = self._bridged_leg(channel)
        context = leg.one.get_var("TRANSFER_CONTEXT") or leg.one.context
        self.chan_event("Hold", leg.one)  # feature_blind_transfer: write_hold first
        self.chan_event("Unhold", leg.one)
        self._blind_transfer_event(call, leg, context, exten, external=False)
        call.two.set_var("BLINDTRANSFER", leg.one.name)
        self.agent_complete(call, leg, "transfer")
        self.leave_bridge(call, leg)
        if context and context == self.config.transfer_context:
            self.run_transfer_context(call, leg.agent, context, exten)
        else:
            self._record(call, "blind", leg.agent, context, exten)
            self.goto_target(call, context, exten)

    def run_transfer_context(self: PBX, call: Call, agent: str, context: str, exten: str) -> None:
        """The caller's ;2 runs [hotline-transfer] `exten`: first its AGI(transfer,...)."""
        url = self.config.transfer_agi_url
        call.two.set(context=context, exten=exten, priority=2)
        call.two.set(app="AGI", app_data=f"{url or ''},{exten}")
        after = functools.partial(self.after_transfer_agi, agent=agent, exten=exten)
        call.state = "agi"
        if not url:  # AGI() with nowhere to connect fails at once (README): AGISTATUS=FAILURE
            after(call, "FAILURE")
            return
        self.start_agi(call, url, done=after)

    def after_transfer_agi(self: PBX, call: Call, status: str, *, agent: str, exten: str) -> None:
        """[hotline-transfer] after its AGI: on to the target, back to the agent, or the queue."""
        two = call.two
        if status == "HANGUP":  # the script hung the caller up: nothing more runs
            two.set_var("AGISTATUS", "SUCCESS")
            return
        two.set_var("AGISTATUS", status)
        if call.state != "agi":  # the caller hung up meanwhile
            return
        call.state = "dialplan"
        if status != "SUCCESS":
            # `back`: the AGI failing must not drop the caller.
            two.set(priority=7, app="Queue", app_data=f"{self.config.entry_queue},tTc")
            self.join_queue(call, self.config.entry_queue)
        elif two.get_var("TRANSFER_ALLOWED") == "0":
            call.truth.refused_transfers.append(
                TransferTruth("blind", agent, f"{two.context}/{exten}", self.clock.now())
            )
            transferer = two.get_var("BLINDTRANSFER") or ""
            if not transferer:  # `consult-end`: an attended try; never for a blind one
                self.caller_hangup(call)
                return
            device = transferer.split("-", 1)[0]  # ${CUT(BLINDTRANSFER,-,1)}
            self.dial_back(call, device)
        else:
            self._record(call, "blind", agent, TARGETS_CONTEXT, exten)
            self.goto_target(call, TARGETS_CONTEXT, exten)

    def dial_back(self: PBX, call: Call, device: str) -> None:
        """Dial(<device>,30,tT) of the agent who tried; no answer or busy: Queue(hotline)."""
        two = call.two
        two.set(priority=6, app="Dial", app_data=f"{device},{DIAL_BACK_TIMEOUT_S:g},tT")
        agent = device.removeprefix("Local/").split("@", 1)[0]
        interface = f"Local/{agent}@agents/n"
        if not device.startswith("Local/") or interface in self.busy:
            # Busy on another call (or not an agent of the model): Dial returns at once.
            self.join_queue(call, self.config.entry_queue)
            return
        leg = self.make_leg(call, agent, interface)
        self.emit(
            CALL,
            "DialBegin",
            self.blk(two) + self.blk(leg.one, "Dest") + f"DialString: {device[6:]}\r\n",
        )
        call.state, call.leg = "dialing", leg
        delay_s = self.agent_profile(agent).answer_delay_s
        if delay_s < DIAL_BACK_TIMEOUT_S:
            leg.timer = self.clock.call_later(delay_s, self.dial_answered, call, leg)
        else:
            leg.timer = self.clock.call_later(
                DIAL_BACK_TIMEOUT_S, self._dial_back_unanswered, call, leg
            )

    def _dial_back_unanswered(self: PBX, call: Call, leg: Leg) -> None:
        if call.state != "dialing" or call.leg is not leg:
            return
        self.emit(
            CALL,
            "DialEnd",
            self.blk(call.two) + self.blk(leg.one, "Dest") + "DialStatus: NOANSWER\r\n",
        )
        self.drop_leg(leg)
        call.leg = None
        call.two.set(priority=7)
        self.join_queue(call, self.config.entry_queue)

    def redirect(self: PBX, channel: str, context: str, exten: str) -> None:
        """AMI Redirect of the caller's channel: no transfer event at all (README)."""
        call, leg = self.find(channel)
        if leg is not None:
            raise SimError("Redirect of an agent channel is not modelled")
        if call.state == "bridged" and call.leg is not None:
            leg = call.leg
            self.redirect_out_of_bridge(call, leg)
            self._record(call, "redirect", leg.agent, context, exten)
        elif call.state == "queued" and call.entry is not None:
            entry, queue = call.entry, call.entry.queue
            for ringing in list(entry.legs):
                self.cancel_leg(call, ringing)
            position = queue.position(entry)
            self.music_on_hold(call.two, False)
            queue.entries.remove(entry)
            self.queue_states(queue)
            self.kick()
            self.emit(
                CLASSES["agent"],
                "QueueCallerLeave",
                self.blk(call.two) + f"Queue: {queue.name}\r\nPosition: {position}\r\n"
                f"Count: {len(queue.entries)}\r\n",
            )
            call.entry = None
            if call.patience_timer is not None:  # patience was for that queue
                call.patience_timer.cancel()
                call.patience_timer = None
            self._record(call, "redirect", "", context, exten)
        self.goto_target(call, context, exten)

    def redirect_out_of_bridge(self: PBX, call: Call, leg: Leg) -> None:
        """The caller is pulled out of the queue's bridge; the bridge dissolves and the
        agent's channels hang up at once, but app_queue closes the queue call only when the
        caller's channel ends (real Asterisk 22.10, tests/asterisk/test_sim_vs_real.py):
        then `AgentComplete` `Reason: caller` with no caller channel headers, TalkTime up to
        that end, and only then the member's CallsTaken, last call and wrap-up
        (update_queue). Meanwhile the member's device is free: it may take calls."""
        if leg.timer is not None:
            leg.timer.cancel()
        self.bridge_event("BridgeLeave", call.bridge_id, 1, call.two)
        self.bridge_event("BridgeLeave", call.bridge_id, 0, leg.one)
        self.hangup_event(leg.one, 16)
        self.hangup_event(leg.two, 16)
        member = leg.member
        if member is not None:
            member.in_call = member.ringing = False
            self.busy.discard(member.interface)
            self.emit(CLASSES["agent"], "QueueMemberStatus", member.body())
            call.redirected.append(leg)
        else:
            self.busy.discard(f"Local/{leg.agent}@agents/n")
        call.leg, call.via = None, None
        self.kick()

    def close_redirected(self: PBX, call: Call) -> None:
        """The caller's channel has ended: app_queue's hang-up handler closes the queue
        calls a Redirect took the caller out of (see `redirect_out_of_bridge`)."""
        legs, call.redirected = call.redirected, []
        for leg in legs:
            member = leg.member
            if member is None:
                continue
            self.agent_complete(call, leg, "caller", caller_block=False)
            member.calls_taken += 1
            member.last_call = int(self.clock.now())
            member.wrapup_until_s = member.last_call + member.wrapuptime_s
            self.queue_states(self.queues[member.queue])
            if member.wrapuptime_s > 0:
                self.clock.call_at(member.wrapup_until_s, self.kick)

    def _record(self: PBX, call: Call, kind: str, agent: str, context: str, exten: str) -> None:
        call.truth.transfers.append(
            TransferTruth(kind, agent, f"{context}/{exten}", self.clock.now())
        )

    # -- attended transfer -----------------------------------------------------------------
    def atxfer(self: PBX, channel: str, context: str, exten: str) -> None:
        call, leg = self._bridged_leg(channel)
        kind, agent = self.config.transfer_targets.get(exten, ("", ""))
        if kind != "agent" or call.consult is not None:
            raise SimError("Atxfer target is not an agent extension")
        now = self.clock.now()
        one, two = self.factory.local_pair(exten, context, now, linkedid=call.two.linkedid)
        self.emit(CALL, "Newchannel", self.blk(one, empty=True))
        self.emit(CALL, "Newchannel", self.blk(two, empty=True))
        two.set(cid_num=leg.one.cid_num, cid_name=leg.one.cid_name)
        self.chan_event("NewCallerid", two, _CID_PRES)
        self.local_bridge(one, two, optimized=False)
        self.legs[one.name] = self.legs[two.name] = (call, leg)
        target = self.make_leg(call, agent, f"Local/{agent}@agents/n")
        call.consult = target
        self.legs[target.one.name] = self.legs[target.two.name] = (call, target)
        self.emit(
            CALL,
            "DialBegin",
            self.blk(two)
            + self.blk(target.one, "Dest")
            + f"DialString: Local/{agent}@agents/n\r\n",
        )
        call.via_bridge = self.new_bridge_id()
        self.bridge_event("BridgeEnter", call.via_bridge, 1, one)
        self.bridge_event("BridgeLeave", call.bridge_id, 1, leg.one)
        self.bridge_event("BridgeEnter", call.via_bridge, 2, leg.one)
        self._consult_pair[call] = (one, two)
        delay_s = self.agent_profile(agent).answer_delay_s
        target.timer = self.clock.call_later(delay_s, self._consult_answered, call, target)
        call.atxfer_to = (context, exten)  # recorded in the truth once completed

    def _consult_answered(self: PBX, call: Call, target: Leg) -> None:
        if call.consult is not target:
            return
        one, two = self._consult_pair[call]
        target.two.set(state=6, priority=4)
        self.chan_event("Newstate", target.two)
        target.one.set(state=6)
        self.chan_event("Newstate", target.one)
        self.emit(
            CALL, "DialEnd", self.blk(two) + self.blk(target.one, "Dest") + "DialStatus: ANSWER\r\n"
        )
        two.set(state=6)
        self.chan_event("Newstate", two)
        one.set(state=6)
        self.chan_event("Newstate", one)
        self.chan_event("NewConnectedLine", one)
        self.emit(CALL, "DialEnd", self.blk(one, "Dest") + "DialStatus: ANSWER\r\n")
        target.answered_s = self.clock.now()
        call.target_bridge = bid = self.new_bridge_id()
        self.bridge_event("BridgeEnter", bid, 1, target.one)
        self.bridge_event("BridgeEnter", bid, 2, two)

    def complete_atxfer(self: PBX, call: Call) -> None:
        """The transferring agent hangs up: caller and target are joined (Result Success)."""
        leg, target = call.leg, call.consult
        if leg is None or target is None:
            return
        one, two = self._consult_pair.pop(call)
        if target.answered_s is None:
            self.cancel_atxfer_call(call)
            self.agent_hangup(call, leg)
            return
        self.bridge_event("BridgeLeave", call.via_bridge, 1, leg.one)
        self.bridge_event("BridgeLeave", call.via_bridge, 0, one)
        self.bridge_event("BridgeEnter", call.bridge_id, 2, one)
        # Connected-line updates ripple through both halves of the joined call.
        self.chan_event("NewConnectedLine", leg.one)
        self.chan_event("NewCallerid", leg.two, _CID_PRES)
        self.chan_event("NewConnectedLine", call.two)
        self.chan_event("NewCallerid", call.one, _CID_PRES)
        self.emit(
            CALL,
            "AttendedTransfer",
            "Result: Success\r\n"
            + self.blk(leg.one, "OrigTransferer")
            + _bridge(call.bridge_id, 2, "Orig")
            + self.blk(leg.one, "SecondTransferer")
            + _bridge(call.via_bridge, 0, "Second")
            + self.blk(call.two, "Transferee")
            + self.blk(one, "TransferTarget")
            + f"IsExternal: No\r\nDestType: Bridge\r\nDestBridgeUniqueid: {call.bridge_id}\r\n",
        )
        self.agent_complete(call, leg, "transfer")
        # The transferer's ;1 goes first, its dialplan half after (05).
        self.hangup_event(leg.one, 16)
        self.hangup_event(leg.two, 16)
        self.member_done(leg)
        if leg.timer is not None:
            leg.timer.cancel()
        self._record(call, "attended", leg.agent, *call.atxfer_to)
        call.via, call.via_bridge = (one, two), call.target_bridge
        call.leg, call.consult = target, None
        talk_s = self.agent_profile(target.agent).talk_s
        if talk_s is not None and target.answered_s is not None:
            # The target talks as long as it would have from its own answer.
            target.timer = self.clock.call_at(
                target.answered_s + talk_s, self.agent_hangup, call, target
            )
        self.legs[one.name] = self.legs[two.name] = (call, target)

    def cancel_atxfer(self: PBX, channel: str) -> None:
        call, _ = self.find(channel)
        if call.consult is None:
            raise SimError("No active transfer")
        self.cancel_atxfer_call(call)
        self._consult_pair.pop(call, None)

    def cancel_atxfer_call(self: PBX, call: Call) -> None:
        target, leg = call.consult, call.leg
        if target is None or leg is None:
            return
        one, two = self._consult_pair.get(call, (None, None))
        if target.answered_s is None:
            self.emit(
                CALL,
                "DialEnd",
                self.blk(two) + self.blk(target.one, "Dest") + "DialStatus: CANCEL\r\n",
            )
        self.drop_leg(target)
        if two is not None:
            self.hangup_event(two, 16)
        self.bridge_event("BridgeLeave", call.via_bridge, 1, one)
        self.hangup_event(one, 16)
        self.bridge_event("BridgeLeave", call.via_bridge, 0, leg.one)
        self.bridge_event("BridgeEnter", call.bridge_id, 2, leg.one)
        call.consult = None
