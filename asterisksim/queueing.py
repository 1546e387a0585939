"""app_queue's behaviour in the model: join, ring members by strategy, answer, abandon, complete."""

from __future__ import annotations

from typing import TYPE_CHECKING

from asterisksim.calls import Call, Leg
from asterisksim.frames import CLASSES
from asterisksim.queues import Entry, Member
from asterisksim.truth import QueueVisit

if TYPE_CHECKING:
    from asterisksim.pbx import PBX

CALL = CLASSES["call"]
AGENT = CLASSES["agent"]
_CID_PRES = "CID-CallingPres: 0 (Presentation Allowed, Not Screened)\r\n"


class QueueEngine:
    """Mixed into PBX: everything between QueueCallerJoin and QueueCallerLeave, and after."""

    def join_queue(self: PBX, call: Call, queue_name: str) -> None:
        queue = self.queues.get(queue_name)
        if queue is None:
            self.caller_hangup(call)
            return
        now = self.clock.now()
        entry = Entry(call, queue, now, len(queue.entries) + 1)
        queue.entries.append(entry)
        self.queue_states(queue)
        call.entry, call.state = entry, "queued"
        if call.two.context == self.config.entry_context:
            call.two.set(priority=8)
        call.two.set(app="Queue", app_data=f"{queue_name},tT")
        self.emit(
            AGENT,
            "QueueCallerJoin",
            self.blk(call.two) + f"Queue: {queue_name}\r\nPosition: {entry.original_position}\r\n"
            f"Count: {len(queue.entries)}\r\n",
        )
        self.music_on_hold(call.two, True)
        call.truth.visits.append(QueueVisit(queue_name, now, entry.original_position))
        if call.patience_s is not None:  # patience counts from each entry into a queue
            call.patience_timer = self.clock.call_later(call.patience_s, self.caller_hangup, call)
        self.try_ring(entry)

    def try_ring(self: PBX, entry: Entry) -> None:
        entry.poll_timer = None
        call = entry.call
        if call.entry is not entry or entry.legs:
            return
        queue = entry.queue
        members: list[Member] = []
        if self.is_our_turn(entry):
            members = queue.pick_members(self.clock.now(), self.busy)
        if not members:
            # No poll timer: kick() wakes waiting callers when a member may have come free.
            return
        for member in members:
            self.ring_member(entry, member)
        self.kick()

    def is_our_turn(self: PBX, entry: Entry) -> bool:
        """app_queue's is_our_turn() with autofill: fewer callers waiting (not ringing) ahead
        than members that look available. A Local member that is ringing still looks
        available (its device never reports ringing, README), so in 08 the 3rd caller in
        line rings a free agent while the 2nd waits behind the 1st, whose agent rings."""
        queue, now = entry.queue, self.clock.now()
        ahead = queue.entries[: queue.entries.index(entry)]
        waiting = sum(1 for e in ahead if not e.legs)
        if not queue.config.autofill:
            return not ahead
        looks_free = sum(
            1
            for m in queue.members.values()
            if not m.paused
            and now >= m.wrapup_until_s
            and (m.ringinuse or m.ringing or not (m.in_call or m.interface in self.busy))
        )
        return waiting < looks_free

    def kick(self: PBX) -> None:
        """A member may be free: each waiting caller retries at its own next retry tick.

        app_queue has every caller poll every `retry` seconds; waking them only when something
        changed, on the same ticks, gives the same timings without a timer per caller per second.
        """
        now = self.clock.now()
        for queue in self.queues.values():
            if not any(not e.legs and e.poll_timer is None for e in queue.entries):
                continue
            # Each pass of app_queue's wait loop takes `retry` plus its own work (08: 13 passes
            # in 13.011 s, 15 in 15.012 s): the drift decides a HoldTime at a second's edge.
            retry_s = queue.config.retry_s + self.config.queue_tick_overhead_s
            free = sum(
                1 for m in queue.members.values() if m.available(now, m.interface in self.busy)
            )
            if free <= 0:
                continue
            # Every waiting caller checks at its own tick whether it is its turn (is_our_turn).
            for entry in queue.entries:
                if entry.legs or entry.poll_timer is not None:
                    continue
                ticks = int((now - entry.join_s) / retry_s) + 1
                entry.poll_timer = self.clock.call_at(
                    entry.join_s + ticks * retry_s, self.try_ring, entry
                )

    def make_leg(self: PBX, call: Call, agent: str, interface: str) -> Leg:
        """Newchannel x2 of `Local/agentN@agents-...`, inheriting the caller's `_`/`__` vars."""
        now = self.clock.now()
        one, two = self.factory.local_pair(agent, "agents", now, linkedid=call.two.linkedid)
        inherited = call.two.inheritable()
        one.update_vars(inherited)
        two.update_vars(inherited)
        self.emit(CALL, "Newchannel", self.blk(one, empty=True))
        self.emit(CALL, "Newchannel", self.blk(two, empty=True))
        cid = {"cid_num": call.two.cid_num, "cid_name": call.two.cid_name}
        one.set(**cid)
        self.chan_event("NewCallerid", one, _CID_PRES)
        two.set(**cid, conn_num=call.two.cid_num, conn_name=call.two.cid_name)
        self.chan_event("NewCallerid", two, _CID_PRES)
        self.chan_event("NewConnectedLine", two)
        self.local_bridge(one, two, optimized=False)
        leg = Leg(agent, one, two, now)
        self.legs[one.name] = self.legs[two.name] = (call, leg)
        self.busy.add(interface)
        return leg

    def ring_member(self: PBX, entry: Entry, member: Member) -> None:
        call, queue = entry.call, entry.queue
        leg = self.make_leg(call, member.name, member.interface)
        leg.member, leg.queue = member, queue.name
        member.ringing = True
        tail = (
            f"Queue: {queue.name}\r\nInterface: {member.interface}\r\nMemberName: {member.name}\r\n"
        )
        self.emit(AGENT, "AgentCalled", self.blk(call.two) + self.blk(leg.one, "Dest") + tail)
        self.emit(
            CALL,
            "DialBegin",
            self.blk(call.two) + self.blk(leg.one, "Dest") + f"DialString: {member.interface}\r\n",
        )
        entry.legs.append(leg)
        delay_s = self.agent_profile(member.name).answer_delay_s
        if delay_s < queue.config.timeout_s:
            leg.timer = self.clock.call_later(delay_s, self.leg_answered, call, leg)
        else:
            leg.timer = self.clock.call_later(queue.config.timeout_s, self.leg_no_answer, call, leg)

    def answer_leg_channels(self: PBX, call: Call, leg: Leg) -> None:
        leg.two.set(state=6, priority=4, app="Wait", app_data="3600")
        self.chan_event("Newstate", leg.two)
        leg.one.set(
            state=6,
            exten=call.two.exten,
            conn_num=call.two.cid_num,
            conn_name=call.two.cid_name,
            app="AppQueue",
            app_data="(Outgoing Line)",
        )
        self.chan_event("Newstate", leg.one)
        self.chan_event("NewConnectedLine", leg.one)
        self.emit(
            CALL,
            "DialEnd",
            self.blk(call.two) + self.blk(leg.one, "Dest") + "DialStatus: ANSWER\r\n",
        )

    def leg_answered(self: PBX, call: Call, leg: Leg) -> None:
        entry, member = call.entry, leg.member
        if entry is None or member is None or call.state != "queued":
            return
        now, queue = self.clock.now(), entry.queue
        for other in list(entry.legs):
            if other is not leg:
                self.cancel_leg(call, other)
        entry.legs = []
        if entry.poll_timer is not None:
            entry.poll_timer.cancel()
        self.answer_leg_channels(call, leg)
        self.music_on_hold(call.two, False)
        agent_device = f"Local/{member.name}@agents"
        self.device_state(agent_device, "INUSE")
        member.ringing, member.in_call = False, True
        self.emit(AGENT, "QueueMemberStatus", member.body())
        position = queue.position(entry)
        queue.entries.remove(entry)
        self.queue_states(queue)
        self.emit(
            AGENT,
            "QueueCallerLeave",
            self.blk(call.two) + f"Queue: {queue.name}\r\n"
            f"Position: {position}\r\nCount: {len(queue.entries)}\r\n",
        )
        # app_queue works on whole clock seconds (DESIGN.md): differences of truncated times.
        # "Within the service level" and the queue's Holdtime average are decided here, at
        # the member's answer, before any pre-bridge Gosub (app_queue.c, try_calling).
        hold_at_answer_s = int(now) - int(entry.join_s)
        leg.in_sl = hold_at_answer_s <= queue.config.servicelevel_s
        queue.record_connect(hold_at_answer_s)
        call.entry = None
        url = self.config.member_gosub_url
        if url:
            # Queue()'s 7th argument: the Gosub runs on the member's channel while the
            # caller waits (no music: it was stopped above); AgentConnect comes after it.
            call.state = "connecting"

            def connected(done: Call, _status: str) -> None:
                self.connect_member(done, leg, entry)

            self.start_agi(call, url, connected, leg.one)
            return
        self.connect_member(call, leg, entry)

    def connect_member(self: PBX, call: Call, leg: Leg, entry: Entry) -> None:
        """AgentConnect (HoldTime up to now, after any pre-bridge Gosub) and the bridge."""
        member, queue, now = leg.member, entry.queue, self.clock.now()
        assert member is not None
        # The caller's patience runs until the bridge: they wait through the Gosub too.
        if call.patience_timer is not None:
            call.patience_timer.cancel()
            call.patience_timer = None
        leg.hold_s = int(now) - int(entry.join_s)
        ring_s = int(now) - int(leg.ring_start_s)
        self.emit(
            AGENT,
            "AgentConnect",
            self.blk(call.two)
            + self.blk(leg.one, "Dest")
            + f"Queue: {queue.name}\r\nInterface: {member.interface}\r\n"
            f"MemberName: {member.name}\r\nHoldTime: {leg.hold_s}\r\nRingTime: {ring_s}\r\n",
        )
        visit = call.truth.visits[-1]
        visit.answered_at, visit.agent, visit.hold_time_field = now, member.name, leg.hold_s
        visit.wait_s = now - entry.join_s
        call.truth.outcome = "answered"
        if call.state == "gone":
            # The caller hung up during the Gosub: the bridge ends as soon as it is made.
            leg.answered_s = now
            self.agent_complete(call, leg, "caller", caller_block=False)
            self.hangup_event(leg.one, 16)
            self.hangup_event(leg.two, 16)
            self.member_done(leg)
            return
        self.device_state(f"Local/{member.name}@agents", "INUSE")
        self.bridge(call, leg)

    def bridge(self: PBX, call: Call, leg: Leg) -> None:
        call.bridge_id = self.new_bridge_id()
        self.bridge_event("BridgeEnter", call.bridge_id, 1, leg.one)
        self.bridge_event("BridgeEnter", call.bridge_id, 2, call.two)
        call.state, call.leg = "bridged", leg
        leg.answered_s = self.clock.now()
        # The caller's own handling time wins over the agent's habit (generated traffic).
        talk_s = call.talk_s if call.talk_s is not None else self.agent_profile(leg.agent).talk_s
        if talk_s is not None:
            # The agent's dialplan: Wait(delay), Answer() (0.5 s), Wait(talk), hang up.
            answer_wait_s = self.config.agent_answer_wait_s
            if answer_wait_s is None:
                answer_wait_s = self.config.answer_delay_s
            wait_s = talk_s + answer_wait_s
            leg.timer = self.clock.call_later(wait_s, self.agent_hangup, call, leg)

    def leg_no_answer(self: PBX, call: Call, leg: Leg) -> None:
        entry, member = call.entry, leg.member
        if entry is None or member is None or leg not in entry.legs:
            return
        ring_s = int(self.clock.now()) - int(leg.ring_start_s)
        self.emit(
            CALL,
            "DialEnd",
            self.blk(call.two) + self.blk(leg.one, "Dest") + "DialStatus: NOANSWER\r\n",
        )
        self.emit(
            AGENT,
            "AgentRingNoAnswer",
            self.blk(call.two)
            + self.blk(leg.one, "Dest")
            + f"Queue: {entry.queue.name}\r\nInterface: {member.interface}\r\n"
            f"MemberName: {member.name}\r\nRingTime: {ring_s}\r\n",
        )
        self.drop_leg(leg)
        entry.legs.remove(leg)
        if not entry.legs and entry.poll_timer is None:
            entry.poll_timer = self.clock.call_later(
                entry.queue.config.retry_s, self.try_ring, entry
            )

    def cancel_leg(self: PBX, call: Call, leg: Leg) -> None:
        """A ringing leg is called off (caller gone, or another member answered first)."""
        self.emit(
            CALL,
            "DialEnd",
            self.blk(call.two) + self.blk(leg.one, "Dest") + "DialStatus: CANCEL\r\n",
        )
        self.drop_leg(leg)

    def drop_leg(self: PBX, leg: Leg) -> None:
        if leg.timer is not None:
            leg.timer.cancel()
        self.hangup_event(leg.one, 16)
        self.hangup_event(leg.two, 16)
        if leg.member is not None:
            leg.member.ringing = False
            self.busy.discard(leg.member.interface)
        else:
            self.busy.discard(f"Local/{leg.agent}@agents/n")
        self.kick()

    def abandon(self: PBX, call: Call, entry: Entry) -> None:
        now, queue = self.clock.now(), entry.queue
        for leg in list(entry.legs):
            self.cancel_leg(call, leg)
        entry.legs = []
        if entry.poll_timer is not None:
            entry.poll_timer.cancel()
        hold_s = int(now) - int(entry.join_s)
        position = queue.position(entry)
        self.music_on_hold(call.two, False)
        self.emit(
            AGENT,
            "QueueCallerAbandon",
            self.blk(call.two) + f"Queue: {queue.name}\r\n"
            f"Position: {position}\r\nOriginalPosition: {entry.original_position}\r\n"
            f"HoldTime: {hold_s}\r\n",
        )
        queue.record_abandon(hold_s)
        queue.entries.remove(entry)
        self.queue_states(queue)
        self.kick()  # a caller behind may now be first in line for a free member
        self.emit(
            AGENT,
            "QueueCallerLeave",
            self.blk(call.two) + f"Queue: {queue.name}\r\n"
            f"Position: {position}\r\nCount: {len(queue.entries)}\r\n",
        )
        visit = call.truth.visits[-1]
        # the HoldTime of the event: whole seconds as app_queue counts them, also for perf2
        visit.abandoned_at, visit.wait_s, visit.hold_time_field = now, now - entry.join_s, hold_s
        call.truth.outcome = "abandoned"
        call.entry = None

    def agent_complete(
        self: PBX, call: Call, leg: Leg, reason: str, caller_block: bool = True
    ) -> None:
        member = leg.member
        if member is None or leg.answered_s is None:
            return
        queue = self.queues[leg.queue]
        talk_s = int(self.clock.now()) - int(leg.answered_s)
        head = self.blk(call.two) if caller_block else ""
        self.emit(
            AGENT,
            "AgentComplete",
            head
            + self.blk(leg.one, "Dest")
            + f"Queue: {queue.name}\r\nInterface: {member.interface}\r\n"
            f"MemberName: {member.name}\r\nHoldTime: {leg.hold_s}\r\n"
            f"TalkTime: {talk_s}\r\nReason: {reason}\r\n",
        )
        queue.record_complete(talk_s, leg.in_sl)
        leg.answered_s = None  # completed once only

    def member_done(self: PBX, leg: Leg) -> None:
        member = leg.member
        if member is None:
            self.busy.discard(f"Local/{leg.agent}@agents/n")
            self.kick()
            return
        if not member.in_call:
            return
        now = self.clock.now()
        member.in_call = False
        member.calls_taken += 1
        member.last_call = int(now)
        # app_queue: unavailable while time(NULL) - lastcall < wrapuptime, on whole seconds.
        member.wrapup_until_s = member.last_call + member.wrapuptime_s
        self.busy.discard(member.interface)
        self.emit(AGENT, "QueueMemberStatus", member.body())
        self.queue_states(self.queues[member.queue])
        if member.wrapuptime_s > 0:
            self.clock.call_at(member.wrapup_until_s, self.kick)
        self.kick()

    def dial_agent(self: PBX, call: Call, agent: str) -> None:
        """A plain Dial(Local/agentN@agents/n) from a transfer target: no queue events."""
        interface = f"Local/{agent}@agents/n"
        leg = self.make_leg(call, agent, interface)
        self.emit(
            CALL,
            "DialBegin",
            self.blk(call.two) + self.blk(leg.one, "Dest") + f"DialString: {interface}\r\n",
        )
        call.state, call.leg = "dialing", leg
        delay_s = self.agent_profile(agent).answer_delay_s
        leg.timer = self.clock.call_later(delay_s, self.dial_answered, call, leg)

    def dial_answered(self: PBX, call: Call, leg: Leg) -> None:
        if call.state != "dialing" or call.leg is not leg:
            return
        self.answer_leg_channels(call, leg)
        self.bridge(call, leg)
